"""A Slack Web API stand-in: a real HTTP server on localhost that answers like Slack.

It implements the methods Dailies calls (including the three-step file upload),
checks their required arguments and the bot token, records every call, and can
be told to answer the next calls of a method with 429 + Retry-After, a 5xx or
an `ok: false` error.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BOT_USER_ID = "UDAILIESBOT"
BOT_ID = "BDAILIES"
TEAM_ID = "T0TEAM"

REQUIRED: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("channel",),
    "chat.update": ("channel", "ts"),
    "chat.postEphemeral": ("channel", "user"),
    "chat.getPermalink": ("channel", "message_ts"),
    "reactions.add": ("channel", "timestamp", "name"),
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
    "views.publish": ("user_id", "view"),
    "views.open": ("trigger_id", "view"),
    "views.update": ("view_id", "view"),
    "usergroups.users.list": ("usergroup",),
    "users.info": ("user",),
    "conversations.replies": ("channel", "ts"),
    "reactions.get": ("channel", "timestamp"),
    "files.info": ("file",),
    "users.conversations": (),
    "conversations.members": ("channel",),
    "conversations.info": ("channel",),
}


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.time)
    team: str | None = None  # whose bot token made the call


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after_s: int | None = None


class SlackStandIn:
    def __init__(self, token: str = "xoxb-test-token") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.channel_members: dict[str, list[str]] = {}  # users.conversations and conversations.members
        self.private_conversations: set[str] = set()  # private channels (conversations.info says is_private)
        self.views: dict[str, dict[str, Any]] = {}  # views.open/views.update, by view id
        self.app_token: str | None = None  # set, with socket_url, to serve apps.connections.open
        # OAuth v2: bot token → workspace (the default token is T0TEAM's), apps and codes waiting to be exchanged.
        self.team_tokens: dict[str, str] = {token: TEAM_ID}
        self.oauth_apps: dict[str, str] = {}  # client id → client secret
        self.oauth_codes: dict[str, tuple[str, str]] = {}  # code → (team id, team name)
        self.socket_url: Any = None  # () -> the ws:// URL of the Socket Mode stand-in
        # Slack's own record of reactions: (channel, ts) → reaction name → users, in the order they reacted.
        self.reactions: dict[tuple[str, str], dict[str, list[str]]] = {}
        self.bots: set[str] = set()  # user ids users.info reports as bots
        self.time_zones: dict[str, str] = {}  # user id → the IANA zone users.info reports
        self.real_names: dict[str, str] = {}  # user id → the real name users.info reports (display name left empty)
        self.faults: dict[str, list[Fault]] = {}
        self.file_refusals = 0  # downloads refused for a token of the wrong workspace (or none)
        # Slack's token rotation: when set, installs get a refresh token and tokens that expire after this long.
        self.rotation_expires_in_s: int | None = None
        self.refresh_tokens: dict[str, str] = {}  # refresh token → workspace
        self.token_expiry: dict[str, float] = {}  # rotating access token → when it stops working
        self.refreshes = 0
        self.lock = threading.Lock()
        self._ts = itertools.count(1)
        self._file_ids = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # lifecycle ------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def start(self) -> SlackStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # test controls --------------------------------------------------------
    def fail_next(self, method: str, *, times: int = 1, status: int = 200, error: str | None = None,
                  retry_after_s: int | None = None) -> None:
        with self.lock:
            self.faults.setdefault(method, []).extend(
                Fault(status=status, error=error, retry_after_s=retry_after_s) for _ in range(times)
            )

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.faults.clear()

    def next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.{next(self._ts):06d}"

    # behaviour ------------------------------------------------------------
    def answer(self, method: str, args: dict[str, Any],
               team: str | None = TEAM_ID) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            self.calls.append(Call(method, args, team=team))
            queue = self.faults.get(method)
            fault = queue.pop(0) if queue else None
        if fault and fault.status == 429:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(fault.retry_after_s or 1)}
        if fault and fault.status >= 500:
            return fault.status, {"ok": False, "error": "internal_error"}, {}
        if fault and fault.error:
            return 200, {"ok": False, "error": fault.error}, {}
        missing = [name for name in REQUIRED.get(method, ()) if args.get(name) in (None, "")]
        if missing:
            return 200, {"ok": False, "error": f"missing_argument: {', '.join(missing)}"}, {}
        if method == "auth.test" and team and team != TEAM_ID:
            return 200, {"ok": True, "url": f"https://{team.lower()}.slack.com/", "team": team, "user": "dailies",
                         "team_id": team, "user_id": f"UB{team[1:]}", "bot_id": f"BB{team[1:]}"}, {}
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if method in ("files.getUploadURLExternal", "files.info"):  # a file belongs to one workspace
            return 200, handler(args, team or TEAM_ID), {}
        return 200, handler(args), {}

    def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://dailies-test.slack.com/", "team": "Test", "user": "dailies",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID}

    # OAuth v2 ---------------------------------------------------------------
    def register_oauth_app(self, client_id: str, client_secret: str) -> None:
        self.oauth_apps[client_id] = client_secret

    def approve_install(self, team_id: str, team_name: str) -> str:
        """A person approved the install in `team_id`: the code Slack puts in the redirect."""
        code = f"code-{team_id}-{next(self._ts)}"
        self.oauth_codes[code] = (team_id, team_name)
        return code

    def oauth_v2_access(self, authorization: str, args: dict[str, Any]) -> dict[str, Any]:
        """https://api.slack.com/methods/oauth.v2.access: a code (once) for the workspace's bot token."""
        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        if authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if not client_id or self.oauth_apps.get(client_id) != client_secret:
            return {"ok": False, "error": "invalid_client_id" if client_id not in self.oauth_apps else "bad_client_secret"}
        if args.get("grant_type") == "refresh_token":
            return self._refresh(str(args.get("refresh_token")))
        with self.lock:
            found = self.oauth_codes.pop(str(args.get("code")), None)
        if found is None:
            return {"ok": False, "error": "invalid_code"}
        team_id, team_name = found
        answer = {
            "ok": True, "app_id": "A0DAILIES", "token_type": "bot",
            "scope": "app_mentions:read,commands,chat:write", "bot_user_id": f"UB{team_id[1:]}",
            "team": {"id": team_id, "name": team_name}, "enterprise": None, "is_enterprise_install": False,
            "authed_user": {"id": f"UADMIN{team_id[1:]}", "scope": "", "token_type": "user"},
        }
        return {**answer, **self._issue(team_id)}

    def _issue(self, team_id: str) -> dict[str, Any]:
        """A new bot token for `team_id`; with rotation on, one that expires, and its refresh token."""
        if self.rotation_expires_in_s is None:
            token = f"xoxb-{team_id}-{next(self._ts)}"
            self.team_tokens[token] = team_id
            return {"access_token": token}
        token, refresh = f"xoxe.xoxb-1-{team_id}-{next(self._ts)}", f"xoxe-1-{team_id}-{next(self._ts)}"
        with self.lock:
            self.team_tokens[token] = team_id
            self.token_expiry[token] = time.time() + self.rotation_expires_in_s
            self.refresh_tokens[refresh] = team_id
        return {"access_token": token, "refresh_token": refresh, "expires_in": self.rotation_expires_in_s}

    def _refresh(self, refresh_token: str) -> dict[str, Any]:
        """https://api.slack.com/authentication/rotation: a refresh token for a new access token (the old one
        keeps working until it expires)."""
        with self.lock:
            team_id = self.refresh_tokens.get(refresh_token)
            self.refreshes += team_id is not None
        if team_id is None:
            return {"ok": False, "error": "invalid_refresh_token"}
        return {"ok": True, "app_id": "A0DAILIES", "token_type": "bot", "scope": "app_mentions:read,commands",
                "bot_user_id": f"UB{team_id[1:]}", "team": {"id": team_id, "name": team_id},
                "enterprise": None, "is_enterprise_install": False, **self._issue(team_id)}

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self.next_ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts, "text": args.get("text", ""),
                   "blocks": _json(args.get("blocks")), "thread_ts": args.get("thread_ts"),
                   "metadata": _json(args.get("metadata"))}
        self.messages[(args["channel"], ts)] = message
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}

    def m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (args["channel"], args["ts"])
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key].update(text=args.get("text", ""), blocks=_json(args.get("blocks")))
        return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": args.get("text", "")}

    def m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self.next_ts()}

    def m_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = args["message_ts"].replace(".", "")
        return {"ok": True, "channel": args["channel"],
                "permalink": f"https://dailies-test.slack.com/archives/{args['channel']}/p{ts}"}

    def m_reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    def m_files_getUploadURLExternal(self, args: dict[str, Any], team: str) -> dict[str, Any]:
        file_id = f"F{next(self._file_ids):08d}"
        self.files[file_id] = {"id": file_id, "name": args["filename"], "length": int(args["length"]), "team": team}
        return {"ok": True, "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}

    def m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = _json(args["files"])
        out = []
        for item in files:
            known = self.files.get(item["id"])
            if known is None or item["id"] not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            if len(self.uploads[item["id"]]) != known["length"]:
                return {"ok": False, "error": "file_upload_size_mismatch"}
            known.update(title=item.get("title"), channel=args.get("channel_id"), thread_ts=args.get("thread_ts"),
                         initial_comment=args.get("initial_comment"), completed=True)
            out.append({"id": item["id"], "name": known["name"], "title": item.get("title"),
                        "url_private_download": f"http://127.0.0.1:{self.port}/files/{item['id']}"})
        return {"ok": True, "files": out}

    def m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = _json(args["view"])
        return {"ok": True, "view": {"id": "V1", **(view or {})}}

    def m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = _json(args["view"]) or {}
        problem = view_problem(view)
        if problem:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [problem]}}
        with self.lock:
            view_id = f"V{len(self.views) + 2:04d}"
            self.views[view_id] = {"id": view_id, "hash": f"{time.time():.6f}", **view}
            return {"ok": True, "view": dict(self.views[view_id])}

    def m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = _json(args["view"]) or {}
        problem = view_problem(view)
        if problem:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [problem]}}
        with self.lock:
            current = self.views.get(args["view_id"])
            if current is None:
                return {"ok": False, "error": "not_found"}
            if args.get("hash") and args["hash"] != current["hash"]:
                return {"ok": False, "error": "hash_conflict"}
            self.views[args["view_id"]] = {"id": args["view_id"], "hash": f"{time.time():.6f}", **view}
            return {"ok": True, "view": dict(self.views[args["view_id"]])}

    def m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_url()}

    def m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        if not users or "," in users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users.lstrip("U")[:10].upper()}}

    def m_users_conversations(self, args: dict[str, Any]) -> dict[str, Any]:
        """One page at a time (`limit`, `cursor` = the index to start at), as Slack paginates."""
        user = args.get("user")
        mine = sorted(ch for ch, members in self.channel_members.items() if user in members)
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        page = mine[start:start + limit]
        more = start + limit < len(mine)
        return {"ok": True, "channels": [{"id": ch, "is_channel": True, "is_member": True} for ch in page],
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def m_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        """https://api.slack.com/methods/conversations.members, paged (`cursor` = the index to start at)."""
        channel = str(args.get("channel"))
        if channel not in self.channel_members:
            return {"ok": False, "error": "channel_not_found"}
        members = self.channel_members[channel]
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        more = start + limit < len(members)
        return {"ok": True, "members": members[start:start + limit],
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        im = channel.startswith("D")
        private = channel in self.private_conversations or channel.startswith("G")
        return {"ok": True, "channel": {"id": channel, "is_channel": not im and not private, "is_group": private,
                                        "is_im": im, "is_mpim": False, "is_private": private or im}}

    def m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        if args["usergroup"] not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.usergroups[args["usergroup"]]}

    def react(self, user: str, channel: str, ts: str, name: str, *, added: bool = True) -> dict[str, Any] | None:
        """A person adds or removes a reaction: Slack records it at once and returns the event it will send
        (None when nothing changed, as Slack sends nothing then)."""
        with self.lock:
            on_message = self.reactions.setdefault((channel, ts), {})
            users = on_message.setdefault(name, [])
            if added == (user in users):
                return None
            if added:
                users.append(user)
            else:
                users.remove(user)
                if not users:
                    del on_message[name]
            event_ts = self.next_ts()
        return {"type": "reaction_added" if added else "reaction_removed", "user": user, "reaction": name,
                "item": {"type": "message", "channel": channel, "ts": ts}, "item_user": BOT_USER_ID,
                "event_ts": event_ts}

    def m_reactions_get(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (args["channel"], args["timestamp"])
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        with self.lock:
            record = [{"name": name, "users": list(users), "count": len(users)}
                      for name, users in self.reactions.get(key, {}).items()]
        message = {**self.messages[key], "reactions": record} if record else dict(self.messages[key])
        return {"ok": True, "type": "message", "channel": args["channel"], "message": message}

    def m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        tz = self.time_zones.get(args["user"], "America/Los_Angeles")  # Slack's documented example
        real_name = self.real_names.get(args["user"], "")
        return {"ok": True, "user": {"id": args["user"], "name": args["user"].lower(), "real_name": real_name,
                                    "is_bot": args["user"] in self.bots, "tz": tz,
                                    "profile": {"real_name": real_name, "display_name": "",
                                                "real_name_normalized": real_name}}}

    def m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        thread = [m for (ch, _), m in self.messages.items() if ch == args["channel"] and m.get("thread_ts") == args["ts"]]
        return {"ok": True, "messages": thread, "has_more": False}

    def m_files_info(self, args: dict[str, Any], team: str) -> dict[str, Any]:
        known = self.files.get(args["file"])
        if not known or known.get("team", TEAM_ID) != team:  # another workspace's file does not exist here
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": {**known, "url_private_download": f"http://127.0.0.1:{self.port}/files/{known['id']}"}}

    def add_file(self, name: str, data: bytes, **extra: Any) -> dict[str, Any]:
        """Put a file in the stand-in as if a person had uploaded it; returns its Slack file object."""
        file_id = f"F{next(self._file_ids):08d}"
        self.uploads[file_id] = data
        self.files[file_id] = {"id": file_id, "name": name, "length": len(data), "size": len(data), "completed": True,
                               **extra}
        return {"id": file_id, "name": name, "size": len(data), "mimetype": extra.get("mimetype", "video/mp4"),
                "url_private_download": f"http://127.0.0.1:{self.port}/files/{file_id}"}

    # sent-message helpers ---------------------------------------------------
    def posted(self, channel: str | None = None, thread_ts: str | None = None) -> list[dict[str, Any]]:
        out = []
        for call in self.calls_to("chat.postMessage"):
            if channel and call.args.get("channel") != channel:
                continue
            if thread_ts and call.args.get("thread_ts") != thread_ts:
                continue
            out.append(call.args)
        return out

    def completed_uploads(self, channel: str | None = None) -> list[dict[str, Any]]:
        return [f for f in self.files.values() if f.get("completed") and (channel is None or f.get("channel") == channel)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self) -> None:
                path = urlparse(self.path).path
                if path.startswith("/files/"):
                    # Slack serves url_private_download only with a token of the workspace the file is in.
                    token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
                    known = standin.files.get(path.rsplit("/", 1)[1]) or {}
                    if not token or standin.team_tokens.get(token) != known.get("team", TEAM_ID):
                        with standin.lock:
                            standin.file_refusals += 1
                        self._send(403, b"forbidden", "text/plain")
                        return
                    data = standin.uploads.get(path.rsplit("/", 1)[1])
                    if data is None:
                        self._send(404, b"not found", "text/plain")
                    else:
                        self._send(200, data, "application/octet-stream")
                    return
                self._send(404, b"not found", "text/plain")

            def do_POST(self) -> None:
                path = urlparse(self.path).path
                raw = self._body()
                if path.startswith("/upload/"):
                    file_id = path.rsplit("/", 1)[1]
                    if file_id not in standin.files:
                        self._send(404, b"unknown upload", "text/plain")
                        return
                    standin.uploads[file_id] = raw
                    self._send(200, f"OK - {len(raw)}".encode(), "text/plain")
                    return
                if not path.startswith("/api/"):
                    self._send(404, b"not found", "text/plain")
                    return
                method = path[len("/api/"):]
                content_type = self.headers.get("Content-Type", "")
                if "application/json" in content_type:
                    args = json.loads(raw or b"{}")
                else:
                    args = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                authorization = self.headers.get("Authorization") or ""
                if method == "oauth.v2.access":  # the app's client id and secret, as HTTP Basic auth
                    body = standin.oauth_v2_access(authorization, args)
                    with standin.lock:
                        standin.calls.append(Call(method, {k: v for k, v in args.items() if k != "client_secret"}))
                    self._send(200, json.dumps(body).encode(), "application/json")
                    return
                token = authorization.removeprefix("Bearer ").strip() or args.pop("token", "")
                # apps.connections.open takes the app-level token (xapp-…); every other method a bot token.
                team = standin.team_tokens.get(token) if method != "apps.connections.open" else None
                if team is not None and standin.token_expiry.get(token, float("inf")) < time.time():
                    with standin.lock:
                        standin.calls.append(Call(method, args))
                    self._send(200, json.dumps({"ok": False, "error": "token_expired"}).encode(), "application/json")
                    return
                if (method == "apps.connections.open" and (not standin.app_token or token != standin.app_token)) \
                        or (method != "apps.connections.open" and team is None):
                    with standin.lock:
                        standin.calls.append(Call(method, args))
                    self._send(200, json.dumps({"ok": False, "error": "invalid_auth"}).encode(), "application/json")
                    return
                status, body, headers = standin.answer(method, args, team)
                self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8", headers)

        return Handler


def view_problem(view: dict[str, Any]) -> str | None:
    """What Slack would refuse in a modal (the limits in Block Kit's reference), or None."""
    if view.get("type") != "modal":
        return "[ERROR] must be a modal [json-pointer:/view/type]"
    for part in ("title", "submit", "close"):
        text = (view.get(part) or {}).get("text", "")
        if len(text) > 24:
            return f"[ERROR] must be less than 25 characters [json-pointer:/view/{part}/text]"
    if len(view.get("private_metadata") or "") > 3000:
        return "[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]"
    blocks = view.get("blocks") or []
    if len(blocks) > 100:
        return "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        block_id = block.get("block_id")
        if block_id:
            if block_id in seen or len(block_id) > 255:
                return f"[ERROR] duplicate or long block_id [json-pointer:/view/blocks/{index}/block_id]"
            seen.add(block_id)
        if block.get("type") == "input":
            if len((block.get("label") or {}).get("text", "")) > 2000 or not block.get("element"):
                return f"[ERROR] invalid input block [json-pointer:/view/blocks/{index}]"
            element = block["element"]
            options = element.get("options") or []
            if len(options) > 100 or any(len(o["text"]["text"]) > 75 or len(o["value"]) > 150 for o in options):
                return f"[ERROR] invalid options [json-pointer:/view/blocks/{index}/element/options]"
            if element.get("type") == "file_input" and (
                    not 1 <= int(element.get("max_files", 10)) <= 10
                    or not all(isinstance(t, str) and t.isalnum() for t in element.get("filetypes", []))):
                return f"[ERROR] invalid file_input [json-pointer:/view/blocks/{index}/element]"
            initial = element.get("initial_option")
            if initial is not None and initial not in options:
                return f"[ERROR] initial_option must be one of the options [json-pointer:/view/blocks/{index}]"
    return None


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
