"""Slack's error codes, said in a sentence an operator can act on."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from jobs.infra.faults import DeliveryError

# Slack errors that no retry fixes: the operator (or a channel member) has to act.
TERMINAL_SLACK_ERRORS = {
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission",
    "missing_scope", "channel_not_found", "not_in_channel", "is_archived", "restricted_action",
    "ekm_access_denied", "team_access_not_granted", "invalid_arguments", "invalid_blocks", "msg_too_long",
}
# Of those, the ones where the channel is the problem: Dailies can still tell the requester in a DM.
CHANNEL_SLACK_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "restricted_action"}

OPERATOR_ERRORS = {
    "invalid_auth": "the bot token is invalid or revoked: check SLACK_BOT_TOKEN",
    "not_authed": "no bot token was sent: check SLACK_BOT_TOKEN",
    "account_inactive": "the bot's workspace account is deactivated",
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the channel: invite it with /invite @dailies",
    "is_archived": "the channel is archived",
}



def slack_error_is_retryable(code: str) -> bool:
    return code not in TERMINAL_SLACK_ERRORS


def slack_error_code(error: SlackApiError) -> str:
    response = error.response
    code = response.get("error") if response is not None else None
    if not code and response is not None and getattr(response, "status_code", 200) >= 500:
        return f"http_{response.status_code}"
    return str(code or "unknown_error")


def explain_slack_error(error: SlackApiError) -> str:
    code = slack_error_code(error)
    return f"Slack refused the call ({code}): {OPERATOR_ERRORS.get(code, 'see https://api.slack.com/methods')}"


def delivery_error(error: Exception) -> DeliveryError:
    """A Slack failure while posting a take, as the pipeline's retry-or-fail decision."""
    if isinstance(error, SlackApiError):
        code = slack_error_code(error)
        return DeliveryError(explain_slack_error(error), code=code, retryable=slack_error_is_retryable(code))
    if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return DeliveryError(f"the take's file could not be read ({type(error).__name__})", code="file")
    return DeliveryError(f"Slack could not be reached ({type(error).__name__}: {error})", code="unreachable")
