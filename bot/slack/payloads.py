"""Pydantic models of the Slack payloads Dailies reads. Anything else in a payload is ignored.

Validating here means a listener works with ids and timestamps of the right
shape or gets a `ValidationError`, never a KeyError half-way through. A valid
payload is still only a claim: what it names is checked against Redis
(`bot.slack.access`), never trusted on its own.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from jobs.domain.votes import base_emoji

log = logging.getLogger(__name__)

SlackId = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{1,39}$")]
Ts = Annotated[str, StringConstraints(pattern=r"^\d{1,12}\.\d{1,9}$")]
ShortText = Annotated[str, StringConstraints(max_length=255)]
Value = Annotated[str, StringConstraints(max_length=2000)]


class SlackModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


PayloadT = TypeVar("PayloadT", bound=SlackModel)


class Ref(SlackModel):
    id: SlackId


class Container(SlackModel):
    type: ShortText
    message_ts: Ts | None = None
    channel_id: SlackId | None = None
    thread_ts: Ts | None = None
    view_id: ShortText | None = None


class ActionMessage(SlackModel):
    ts: Ts
    thread_ts: Ts | None = None


class SelectedOption(SlackModel):
    value: Value


class BlockAction(SlackModel):
    action_id: ShortText
    block_id: ShortText | None = None
    type: ShortText
    value: Value | None = None
    selected_option: SelectedOption | None = None
    action_ts: ShortText | None = None

    @property
    def chosen(self) -> str:
        """The button's value or the selected option's value ('' when neither)."""
        if self.value is not None:
            return self.value
        return self.selected_option.value if self.selected_option else ""


class ViewState(SlackModel):
    values: dict[ShortText, dict[ShortText, dict[str, Any]]] = Field(default_factory=dict, max_length=100)


class SubmittedView(SlackModel):
    """A modal as Slack sends it back: in a view_submission, or with an action pressed inside it."""

    id: ShortText
    callback_id: ShortText = ""
    hash: ShortText | None = None
    private_metadata: Annotated[str, StringConstraints(max_length=3000)] = ""
    state: ViewState = Field(default_factory=ViewState)


class BlockActionPayload(SlackModel):
    type: Literal["block_actions"]
    user: Ref
    team: Ref | None = None
    channel: Ref | None = None
    container: Container | None = None
    message: ActionMessage | None = None
    actions: list[BlockAction] = Field(min_length=1, max_length=25)
    trigger_id: ShortText | None = None
    response_url: Value | None = None
    view: SubmittedView | None = None

    @property
    def action(self) -> BlockAction:
        return self.actions[0]

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def channel_id(self) -> str | None:
        if self.channel is not None:
            return self.channel.id
        return self.container.channel_id if self.container else None

    @property
    def message_ts(self) -> str | None:
        if self.container is not None and self.container.message_ts:
            return self.container.message_ts
        return self.message.ts if self.message else None

    @property
    def thread_ts(self) -> str | None:
        if self.message is not None and self.message.thread_ts:
            return self.message.thread_ts
        return self.container.thread_ts if self.container else None

    @property
    def in_view(self) -> bool:
        return self.container is not None and self.container.type == "view"


class ReactionItem(SlackModel):
    type: ShortText
    channel: SlackId | None = None
    ts: Ts | None = None


class ReactionEvent(SlackModel):
    type: Literal["reaction_added", "reaction_removed"]
    user: SlackId
    reaction: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    item: ReactionItem
    item_user: SlackId | None = None
    event_ts: ShortText | None = None

    @property
    def emoji(self) -> str:
        """`+1::skin-tone-3` counts as `+1`."""
        return base_emoji(self.reaction)

    @property
    def added(self) -> bool:
        return self.type == "reaction_added"


class SharedFile(SlackModel):
    """A file on a message. Slack Connect and some uploads send only the id (`file_access: check_file_info`)."""

    id: ShortText
    name: Annotated[str, StringConstraints(max_length=1000)] = ""
    mimetype: ShortText = ""
    file_access: ShortText | None = None


class MessageEvent(SlackModel):
    """A `message` (any subtype a person makes) or `app_mention` event."""

    type: Literal["message", "app_mention"]
    user: SlackId | None = None
    text: Annotated[str, StringConstraints(max_length=40_000)] = ""
    ts: Ts
    channel: SlackId
    thread_ts: Ts | None = None
    subtype: ShortText | None = None
    channel_type: ShortText | None = None
    bot_id: ShortText | None = None
    bot_profile: dict[str, Any] | None = None
    files: list[SharedFile] = Field(default_factory=list, max_length=100)

    @property
    def thread(self) -> str:
        """The thread a reply belongs in: the message's own, or the message itself."""
        return self.thread_ts or self.ts

    @property
    def in_thread(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def in_dm(self) -> bool:
        return self.channel_type == "im"


class SlashCommand(SlackModel):
    """A slash command's form fields (Slack sends `application/x-www-form-urlencoded`)."""

    command: ShortText
    text: Annotated[str, StringConstraints(max_length=4000)] = ""
    user_id: SlackId
    channel_id: SlackId
    team_id: SlackId | None = None
    trigger_id: ShortText
    response_url: Value | None = None

    @property
    def in_dm(self) -> bool:
        return self.channel_id.startswith("D")


class ShortcutMessage(SlackModel):
    ts: Ts
    thread_ts: Ts | None = None
    text: Annotated[str, StringConstraints(max_length=40_000)] = ""
    user: SlackId | None = None
    files: list[SharedFile] = Field(default_factory=list, max_length=100)


class MessageShortcut(SlackModel):
    """A message shortcut ("Make takes from this" in a message's ⋮ menu)."""

    type: Literal["message_action"]
    callback_id: ShortText
    trigger_id: ShortText
    user: Ref
    team: Ref | None = None
    channel: Ref
    message: ShortcutMessage
    message_ts: Ts | None = None


class ViewSubmission(SlackModel):
    type: Literal["view_submission"]
    user: Ref
    team: Ref | None = None
    view: SubmittedView


def parse_payload(model: type[PayloadT], body: Any) -> PayloadT | None:
    """`body` as `model`, or None (logged) when it does not have that shape."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        log.warning("refused a malformed %s payload: %s", model.__name__, _first_error(error))
        return None


def parse_message(event: Any) -> MessageEvent | None:
    """The event as a model, or None when it is not a message a person could have written (edits, deletions
    and other shapes without a channel, ts or user are not briefs)."""
    try:
        return MessageEvent.model_validate(event)
    except ValidationError as error:
        log.debug("ignored a message event of another shape: %s", _first_error(error))
        return None


def parse_block_action(body: Any) -> BlockActionPayload | None:
    """The payload as a model, or None (logged) when it is not a well-formed block_actions payload."""
    try:
        return BlockActionPayload.model_validate(body)
    except ValidationError as error:
        log.warning("refused a malformed block_actions payload: %s", _first_error(error))
        return None


def parse_reaction(event: Any) -> ReactionEvent | None:
    try:
        return ReactionEvent.model_validate(event)
    except ValidationError as error:
        log.warning("ignored a malformed reaction event: %s", _first_error(error))
        return None


def _first_error(error: ValidationError) -> str:
    problems = error.errors()
    if not problems:
        return "invalid"
    where = ".".join(str(part) for part in problems[0]["loc"])
    return f"{where}: {problems[0]['msg']} ({error.error_count()} problem(s))"


class PayloadGuard(Middleware):
    """The first middleware: a block_actions payload that is not well formed (no actions, no user, ids of the
    wrong shape…) or an event envelope without an event is acknowledged and dropped, logged, before Bolt or
    any listener reads it (Bolt itself fails with a 500 on an empty `actions` list)."""

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Any) -> BoltResponse | None:  # noqa: A002
        body = req.body if isinstance(req.body, dict) else {}
        kind = body.get("type")
        if kind == "block_actions" and parse_block_action(body) is None:
            return BoltResponse(status=200, body="")
        if kind == "event_callback" and not isinstance(body.get("event"), dict):
            log.warning("dropped an event envelope without an event")
            return BoltResponse(status=200, body="")
        return next()
