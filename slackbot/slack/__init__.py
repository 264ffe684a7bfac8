"""How Loops calls Slack's Web API, for the app and the clock alike: the clients and the rules
every call follows, each workspace's token, a person's profile, and the Home tab."""
