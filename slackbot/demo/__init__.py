"""`slackbot demo`: the whole product against the bundled Slack emulator (`story`, on its `stage`)."""
