"""Block action listeners, one file each."""

from slack_bolt import App

from bot.listeners.actions import (
    approve,
    brief_model,
    master_for,
    more_like_this,
    new_sound,
    reroll,
    send_to_sound,
    ticket_accept,
    ticket_cancel,
    ticket_claim,
    ticket_deliver,
    ticket_return,
    ticket_take_over,
)


def register(app: App) -> None:
    approve.register(app)
    brief_model.register(app)
    master_for.register(app)
    reroll.register(app)
    more_like_this.register(app)
    send_to_sound.register(app)
    new_sound.register(app)
    for ticket_action in (ticket_claim, ticket_deliver, ticket_return, ticket_cancel, ticket_accept,
                          ticket_take_over):
        ticket_action.register(app)
