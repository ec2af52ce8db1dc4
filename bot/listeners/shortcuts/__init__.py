"""Shortcut listeners, one file each."""

from slack_bolt import App

from bot.listeners.shortcuts import make_takes


def register(app: App) -> None:
    make_takes.register(app)
