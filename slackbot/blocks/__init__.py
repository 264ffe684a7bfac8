"""Block Kit builders: every message, modal and Home tab the bot shows is built here."""
