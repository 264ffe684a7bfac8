"""The scheduler: turns time into deliveries, and deliveries into Slack messages."""
