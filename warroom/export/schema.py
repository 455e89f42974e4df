"""The export file's schema: normalised tables with primary and foreign keys, views, full text.

The schema is written as SQL so the keys are explicit; rows are then written with sqlite-utils.
Bump ``SCHEMA_VERSION`` whenever a table or column changes meaning.
"""

from __future__ import annotations

SCHEMA_VERSION = 1
#: Written to ``meta`` so a later export recognises the file as one of its own.
GENERATOR = "warroom export"

TABLES = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    severity TEXT,
    phase TEXT,
    drill INTEGER,
    declared_by TEXT,
    trigger TEXT,
    symptoms TEXT,
    scope TEXT,
    started_at TEXT,
    detected_at TEXT,
    declared_at TEXT,
    mitigated_at TEXT,
    resolved_at TEXT,
    closed_at TEXT,
    resolution TEXT,
    time_to_detect_s REAL,
    time_to_declare_s REAL,
    time_to_mitigate_s REAL,
    time_to_resolve_s REAL,
    measured_from TEXT,
    overdue_updates INTEGER,
    escalations INTEGER,
    peak_severity TEXT,
    event_count INTEGER,
    exported_at TEXT
);
CREATE TABLE IF NOT EXISTS events (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT,
    role TEXT,
    payload TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
CREATE TABLE IF NOT EXISTS timeline (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT,
    role TEXT,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq),
    FOREIGN KEY (incident_id, seq) REFERENCES events(incident_id, seq)
);
CREATE TABLE IF NOT EXISTS participants (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    name TEXT NOT NULL,
    seat TEXT,
    joined_at TEXT,
    last_seen TEXT,
    online_at_export INTEGER,
    join_code TEXT,
    PRIMARY KEY (incident_id, name)
);
CREATE TABLE IF NOT EXISTS roles (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    role TEXT NOT NULL,
    holder TEXT NOT NULL,
    since_seq INTEGER NOT NULL,
    since TEXT,
    until_seq INTEGER,
    until TEXT,
    PRIMARY KEY (incident_id, role, since_seq),
    FOREIGN KEY (incident_id, since_seq) REFERENCES events(incident_id, seq)
);
CREATE TABLE IF NOT EXISTS severity_changes (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    seq INTEGER NOT NULL,
    at TEXT,
    severity TEXT NOT NULL,
    actor TEXT,
    reason TEXT,
    PRIMARY KEY (incident_id, seq),
    FOREIGN KEY (incident_id, seq) REFERENCES events(incident_id, seq)
);
CREATE TABLE IF NOT EXISTS guesses (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    no INTEGER NOT NULL,
    text TEXT NOT NULL,
    author TEXT,
    added_at TEXT,
    status TEXT NOT NULL,
    owner TEXT,
    resolved_by TEXT,
    resolved_at TEXT,
    reason TEXT,
    PRIMARY KEY (incident_id, no)
);
CREATE TABLE IF NOT EXISTS facts (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    no INTEGER NOT NULL,
    text TEXT NOT NULL,
    author TEXT,
    added_at TEXT,
    status TEXT NOT NULL,
    from_guess INTEGER,
    confirmed_by TEXT,
    confirmed_at TEXT,
    retracted_by TEXT,
    retracted_at TEXT,
    retracted_reason TEXT,
    PRIMARY KEY (incident_id, no),
    FOREIGN KEY (incident_id, from_guess) REFERENCES guesses(incident_id, no)
);
CREATE TABLE IF NOT EXISTS board_history (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    item_no INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT,
    actor TEXT,
    action TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (incident_id, item_no, seq),
    FOREIGN KEY (incident_id, seq) REFERENCES events(incident_id, seq)
);
CREATE TABLE IF NOT EXISTS evidence (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    item_no INTEGER NOT NULL,
    -- 1, 2, 3 ... in the order the notes were added (one event may add several)
    position INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT,
    text TEXT NOT NULL,
    by TEXT,
    at TEXT,
    PRIMARY KEY (incident_id, item_no, position)
);
CREATE TABLE IF NOT EXISTS decisions (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    no INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT,
    what TEXT NOT NULL,
    why TEXT,
    options TEXT,
    owner TEXT,
    decided_by TEXT,
    supersedes INTEGER,
    superseded_by INTEGER,
    PRIMARY KEY (incident_id, no),
    FOREIGN KEY (incident_id, seq) REFERENCES events(incident_id, seq),
    FOREIGN KEY (incident_id, supersedes) REFERENCES decisions(incident_id, no)
);
CREATE TABLE IF NOT EXISTS decision_facts (
    incident_id TEXT NOT NULL,
    decision_no INTEGER NOT NULL,
    fact_no INTEGER NOT NULL,
    PRIMARY KEY (incident_id, decision_no, fact_no),
    FOREIGN KEY (incident_id, decision_no) REFERENCES decisions(incident_id, no),
    FOREIGN KEY (incident_id, fact_no) REFERENCES facts(incident_id, no)
);
CREATE TABLE IF NOT EXISTS follow_ups (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    no INTEGER NOT NULL,
    text TEXT NOT NULL,
    owner TEXT,
    due TEXT,
    noted_by TEXT,
    at TEXT,
    PRIMARY KEY (incident_id, no)
);
CREATE TABLE IF NOT EXISTS corrections (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    seq INTEGER NOT NULL,
    entry_seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at TEXT,
    actor TEXT,
    role TEXT,
    text TEXT,
    happened_at TEXT,
    reason TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq),
    FOREIGN KEY (incident_id, seq) REFERENCES events(incident_id, seq),
    FOREIGN KEY (incident_id, entry_seq) REFERENCES events(incident_id, seq)
);
CREATE TABLE IF NOT EXISTS lock_grants (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    token INTEGER NOT NULL,
    holder TEXT NOT NULL,
    granted_at TEXT,
    via TEXT,
    granted_by TEXT,
    ended_at TEXT,
    ended TEXT,
    ended_by TEXT,
    reason TEXT,
    PRIMARY KEY (incident_id, token)
);
CREATE TABLE IF NOT EXISTS actions (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    id TEXT NOT NULL,
    token INTEGER NOT NULL,
    kind TEXT,
    target TEXT,
    expected TEXT,
    metric TEXT,
    value_before TEXT,
    value_after TEXT,
    outcome TEXT,
    started_by TEXT,
    started_at TEXT,
    finished_by TEXT,
    finished_at TEXT,
    note TEXT,
    undoes TEXT,
    undone_by TEXT,
    PRIMARY KEY (incident_id, id),
    FOREIGN KEY (incident_id, token) REFERENCES lock_grants(incident_id, token)
);
CREATE TABLE IF NOT EXISTS comms_updates (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    seq INTEGER NOT NULL,
    number INTEGER,
    at TEXT,
    audience TEXT,
    author TEXT,
    severity TEXT,
    phase TEXT,
    text TEXT NOT NULL,
    next_update_at TEXT,
    PRIMARY KEY (incident_id, seq),
    FOREIGN KEY (incident_id, seq) REFERENCES events(incident_id, seq)
);
CREATE TABLE IF NOT EXISTS update_deliveries (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    update_seq INTEGER NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER,
    detail TEXT,
    at TEXT,
    PRIMARY KEY (incident_id, update_seq, target),
    FOREIGN KEY (incident_id, update_seq) REFERENCES comms_updates(incident_id, seq)
);
CREATE TABLE IF NOT EXISTS triage (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    answered_by TEXT,
    answered_at TEXT,
    answer_seq INTEGER,
    confirmed_by TEXT,
    confirmed_at TEXT,
    PRIMARY KEY (incident_id, question),
    FOREIGN KEY (incident_id, answer_seq) REFERENCES events(incident_id, seq)
);
CREATE TABLE IF NOT EXISTS drill_scorecards (
    incident_id TEXT PRIMARY KEY REFERENCES incidents(id),
    scenario TEXT,
    time_to_declare_s REAL,
    time_to_first_update_s REAL,
    time_to_mitigate_s REAL,
    overdue_updates INTEGER,
    actions_taken INTEGER,
    actions_helped INTEGER,
    changes_without_lock INTEGER,
    decisions INTEGER,
    observations TEXT
);
"""

VIEWS: dict[str, str] = {
    # The first thing a reviewer reads: what happened, in order, with the calls and the changes
    # picked out.
    "review_timeline": """
        SELECT t.incident_id, t.seq, t.at, t.actor, t.role, t.kind, t.text,
               d.no AS decision_no, d.why AS decision_why,
               a.kind AS action_kind, a.outcome AS action_outcome
        FROM timeline t
        LEFT JOIN decisions d ON d.incident_id = t.incident_id AND d.seq = t.seq
        LEFT JOIN events e ON e.incident_id = t.incident_id AND e.seq = t.seq
        LEFT JOIN actions a ON a.incident_id = t.incident_id AND a.id = e.id
        ORDER BY t.incident_id, t.seq
    """,
    "decisions_and_actions": """
        SELECT incident_id, seq, at, 'decision' AS entry, what AS text, decided_by AS actor,
               why AS detail
        FROM decisions
        UNION ALL
        SELECT a.incident_id, e.seq, a.started_at, 'action', a.kind || ' ' || a.target,
               a.started_by, coalesce(a.outcome, 'not finished')
        FROM actions a JOIN events e ON e.incident_id = a.incident_id AND e.id = a.id
        ORDER BY 1, 2
    """,
    "actions_that_did_not_help": """
        SELECT * FROM actions WHERE outcome IN ('no_change', 'made_worse')
    """,
    "response_times": """
        SELECT id, title, severity, drill,
               round(time_to_detect_s / 60.0, 1) AS detect_min,
               round(time_to_declare_s / 60.0, 1) AS declare_min,
               round(time_to_mitigate_s / 60.0, 1) AS mitigate_min,
               round(time_to_resolve_s / 60.0, 1) AS resolve_min,
               overdue_updates
        FROM incidents ORDER BY declared_at
    """,
}
