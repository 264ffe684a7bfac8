"""Listeners, one module per kind of Slack request, each with `register(app)` (app/bolt.py calls them)."""
