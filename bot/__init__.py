"""The Slack surfaces: a thin layer turning Slack requests into knowledge calls and results into Block Kit."""
