"""Event listeners, one file each."""

from slack_bolt import App

from bot.events import app_home_opened, app_mention, channel_settings, message, reactions, votes


def register(app: App) -> None:
    app_mention.register(app)
    message.register(app)
    reactions.register(app)
    votes.register(app)
    channel_settings.register(app)
    app_home_opened.register(app)
