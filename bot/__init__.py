"""Slack in and out: the Bolt app, listeners, Block Kit, posting and uploading."""
