-- The firm's operational data (SPEC section 3). Dates are ISO text; hours are REAL.
CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    rank INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE people (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL REFERENCES roles (id),
    weekly_hours REAL NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    slack_user_id TEXT,
    discord_user_id TEXT,
    email TEXT
);
CREATE INDEX people_role ON people (role);

CREATE TABLE allocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person TEXT NOT NULL REFERENCES people (id),
    project TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    hours_per_week REAL NOT NULL,
    status TEXT NOT NULL,
    hold_id TEXT,
    UNIQUE (person, project, start_date, end_date, hours_per_week, status)
);
CREATE INDEX allocations_person ON allocations (person, end_date);

CREATE TABLE time_off (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person TEXT NOT NULL REFERENCES people (id),
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    UNIQUE (person, start_date, end_date)
);

CREATE TABLE holidays (
    date TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE packages (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    duration_weeks INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE package_roles (
    package TEXT NOT NULL REFERENCES packages (id),
    role TEXT NOT NULL REFERENCES roles (id),
    count INTEGER NOT NULL,
    hours_per_week REAL NOT NULL,
    PRIMARY KEY (package, role)
);

CREATE TABLE deliverables (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL,
    effort_hours REAL NOT NULL,
    price REAL NOT NULL,
    depends_on TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE package_items (
    package TEXT NOT NULL REFERENCES packages (id),
    deliverable TEXT NOT NULL REFERENCES deliverables (id),
    inclusion TEXT NOT NULL,
    PRIMARY KEY (package, deliverable)
);

CREATE TABLE history (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL DEFAULT '',
    package TEXT NOT NULL REFERENCES packages (id),
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    effort_hours REAL NOT NULL,
    planned_end TEXT,
    sold_margin REAL,
    closed_margin REAL,
    change_orders INTEGER
);
CREATE INDEX history_package ON history (package, end_date);
