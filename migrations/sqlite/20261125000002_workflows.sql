-- Workflows (SPEC section 5). Timestamps are UTC text 'YYYY-MM-DDTHH:MM:SSZ', which sorts.
CREATE TABLE deals (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    client TEXT NOT NULL DEFAULT '',
    package TEXT NOT NULL REFERENCES packages (id),
    seller TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    pm TEXT,
    created_at TEXT NOT NULL,
    closed_at TEXT
);

CREATE TABLE channel_deals (
    channel TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL REFERENCES deals (id)
);

-- An answer's offer: what a button on it would commit, kept server-side so action ids carry no data.
CREATE TABLE offers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    channel TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE commitments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deal_id TEXT NOT NULL REFERENCES deals (id),
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    details TEXT NOT NULL,
    source TEXT NOT NULL,
    approval_id TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX commitments_deal ON commitments (deal_id);

CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL REFERENCES deals (id),
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    state TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    deal_id TEXT REFERENCES deals (id),
    package TEXT NOT NULL,
    requester TEXT NOT NULL,
    channel TEXT NOT NULL,
    requested_date TEXT NOT NULL,
    start_date TEXT,
    evidence TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    decided_by TEXT,
    decided_at TEXT,
    reason TEXT,
    message_id INTEGER,
    created_at TEXT NOT NULL,
    remind_at TEXT,
    escalate_at TEXT,
    expires_at TEXT NOT NULL
);
CREATE INDEX approvals_state ON approvals (state);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    deal_id TEXT REFERENCES deals (id),
    package TEXT,
    requester TEXT NOT NULL,
    channel TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    effort_hours REAL,
    price REAL,
    notes TEXT,
    reason TEXT,
    deliverable_id TEXT,
    handled_by TEXT,
    message_id INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE handovers (
    id TEXT PRIMARY KEY,
    deal_id TEXT NOT NULL REFERENCES deals (id),
    pm TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'sent',
    message_id INTEGER,
    created_at TEXT NOT NULL,
    remind_at TEXT,
    acknowledged_at TEXT
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT ''
);

-- Outbound messages, written in the transaction of the state change that causes them.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    target TEXT NOT NULL,
    text TEXT NOT NULL,
    reply TEXT NOT NULL,
    updates INTEGER REFERENCES outbox (id),
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_by TEXT,
    lease_until TEXT,
    last_error TEXT,
    platform_ref TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- Platform event ids already handled (Slack retries the same event).
CREATE TABLE processed_events (
    event_id TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
