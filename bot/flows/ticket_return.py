"""The Return press and its form: only a person who passed the press's checks may submit the form for a ticket."""

from __future__ import annotations

from bot.deps import Deps

RETURN_FORM_TTL_S = 3600


def return_form_key(deps: Deps, ticket_id: str, user: str) -> str:
    return deps.store.key("ticket", "return-form", ticket_id, user)


def grant_return_form(deps: Deps, ticket_id: str, user: str) -> None:
    """Remember that `user` passed the Return press's checks for `ticket_id`, for the form's submission."""
    deps.store.redis.set(return_form_key(deps, ticket_id, user), "1", ex=RETURN_FORM_TTL_S)
