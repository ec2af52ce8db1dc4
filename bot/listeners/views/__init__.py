"""View listeners (modal submissions), one file each."""

from slack_bolt import App

from bot.listeners.views import brief_modal, new_sound_modal, ticket_return_modal


def register(app: App) -> None:
    ticket_return_modal.register(app)
    brief_modal.register(app)
    new_sound_modal.register(app)
