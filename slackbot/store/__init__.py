"""The database: models and migrations, sessions and their locks, and the named reads and
writes every query goes through, each scoped to a workspace or a person."""
