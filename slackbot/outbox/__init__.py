"""The outbox: how a stored delivery becomes a Slack message, for the clock and the app alike.

`sender` runs rounds (claim, read, post, record); `claim` holds the leases, `render` and
`team` say what each kind of delivery becomes at send time, `post` makes the Slack calls and
reads back an uncertain attempt, `pace` keeps a workspace's posts inside Slack's limits, and
`record` writes what happened.
"""
