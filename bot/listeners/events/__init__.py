"""Event listeners, one file each."""

from slack_bolt import App

from bot.listeners.events import app_home_opened, app_mention, message, reactions


def register(app: App) -> None:
    app_mention.register(app)
    message.register(app)
    reactions.register(app)
    app_home_opened.register(app)
