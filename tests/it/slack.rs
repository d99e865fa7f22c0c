//! Slack adapter tests: signed requests into the running server, Web API calls captured by a fake.
