"""The product's rules: pure Python, no Slack payloads, no database sessions."""
