"""The outbox: how a stored Delivery becomes a Slack message, for the clock and the app alike.

`sender` runs rounds (claim, read, post, record); `claim` holds the leases, `render`
says what each kind of delivery becomes, `post` makes the Slack calls and reads back
an uncertain attempt, `pace` keeps every call of a workspace inside Slack's limits,
`record` writes what happened, and `client` builds the Slack clients both processes use.
"""
