"""Slash command listeners, one file each."""

from slack_bolt import App

from bot.listeners.commands import dailies


def register(app: App) -> None:
    dailies.register(app)
