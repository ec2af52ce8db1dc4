"""Every Bolt listener, laid out as in Bolt's samples: one file per handler it registers."""

from slack_bolt import App

from bot.listeners import actions, commands, events, shortcuts, views


def register(app: App) -> None:
    events.register(app)
    actions.register(app)
    views.register(app)
    commands.register(app)
    shortcuts.register(app)
