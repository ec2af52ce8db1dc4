"""Errors that callers catch without loading what raises them (the CLI catches ConfigError before it reads settings)."""

from __future__ import annotations


class ConfigError(Exception):
    """A required setting is missing or invalid; the message names the variable."""
