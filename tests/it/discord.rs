//! Discord adapter tests: signed interactions into the running server, REST calls captured by a fake.
