"""Slack listeners, one module per surface; each has register(app, deps)."""
