"""Event listeners, one file each."""

from slack_bolt import App

from bot.events import app_mention, message, reactions


def register(app: App) -> None:
    app_mention.register(app)
    message.register(app)
    reactions.register(app)
