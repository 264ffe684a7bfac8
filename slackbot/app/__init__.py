"""The Slack surface of Loops: a Bolt app (`app.bolt`) whose every request runs in one database
session, its listeners (`app.listeners`), and what they share."""
