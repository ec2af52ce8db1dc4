"""`dailies socket`: Bolt's Socket Mode handler, with each envelope's team and channel bound for the logs (as
`bot/server.py` binds them for an HTTP request)."""

from __future__ import annotations

from time import time

from slack_bolt import BoltRequest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import build_headers, send_response
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from jobs.infra.logs import bound


class BoundSocketModeHandler(SocketModeHandler):
    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        start = time()
        request = BoltRequest(mode="socket_mode", body=req.payload, headers=build_headers(req))
        with bound(team=request.context.team_id, channel=request.context.channel_id):
            response = self.app.dispatch(request)
        send_response(client, req, response, start)
