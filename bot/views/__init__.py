"""View listeners (App Home, modals), one file each."""

from slack_bolt import App


def register(app: App) -> None:
    pass
