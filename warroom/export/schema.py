"""The export file's schema: normalised tables with primary and foreign keys, views, full text.

Each table is described once, as a :class:`Table` (its columns as SQL, its key, what its columns
refer to); the ``CREATE TABLE`` statements are rendered from those descriptions, and the exporter
takes each table's key and column order from the same place, so the rows written (with
sqlite-utils) and the DDL cannot drift apart. Bump ``SCHEMA_VERSION`` whenever a table or column
changes meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

SCHEMA_VERSION = 1
#: Written to ``meta`` so a later export recognises the file as one of its own.
GENERATOR = "warroom export"

#: The first column of a table with rows of one incident.
OF_INCIDENT = "incident_id TEXT NOT NULL REFERENCES incidents(id)"


@dataclass(frozen=True)
class Table:
    """One table of the export file, from which its ``CREATE TABLE`` statement is rendered.

    ``columns`` are SQL column definitions separated by ``", "``, after ``first`` (the incident
    column, unless the table says otherwise). ``key`` is the primary key; a key of one column is
    declared on that column, a longer one gets its own ``PRIMARY KEY`` line. ``refs`` maps a
    column to ``"table.column"`` it points at, always together with ``incident_id``. ``notes``
    puts a comment above a column.
    """

    name: str
    columns: str
    key: str
    refs: Mapping[str, str] = field(default_factory=dict)
    first: str | None = OF_INCIDENT
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(self.key.split(", "))

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns in order, as the rows written to this table lay them out."""
        return tuple(d.split(" ", 1)[0] for d in self._definitions())

    def _definitions(self) -> list[str]:
        return ([self.first] if self.first else []) + self.columns.split(", ")

    def ddl(self) -> str:
        lines: list[str] = []
        for definition in self._definitions():
            note = self.notes.get(definition.split(" ", 1)[0])
            lines += [f"-- {note}"] if note else []
            lines.append(definition)
        if len(self.primary_key) > 1:
            lines.append(f"PRIMARY KEY ({self.key})")
        for column, target in self.refs.items():
            table, target_column = target.split(".")
            lines.append(
                f"FOREIGN KEY (incident_id, {column}) "
                f"REFERENCES {table}(incident_id, {target_column})"
            )
        body = "".join(
            f"\n    {line}{'' if line.startswith('--') or i == len(lines) - 1 else ','}"
            for i, line in enumerate(lines)
        )
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({body}\n);\n"


#: Every table, parents before the tables that refer to them.
SCHEMA: tuple[Table, ...] = (
    Table("meta", "key TEXT PRIMARY KEY, value TEXT", key="key", first=None),
    Table(
        "incidents",
        "id TEXT PRIMARY KEY, title TEXT NOT NULL, severity TEXT, phase TEXT, drill INTEGER, "
        "declared_by TEXT, trigger TEXT, symptoms TEXT, scope TEXT, started_at TEXT, "
        "detected_at TEXT, declared_at TEXT, mitigated_at TEXT, resolved_at TEXT, closed_at TEXT, "
        "resolution TEXT, time_to_detect_s REAL, time_to_declare_s REAL, "
        "time_to_mitigate_s REAL, time_to_resolve_s REAL, measured_from TEXT, "
        "overdue_updates INTEGER, escalations INTEGER, peak_severity TEXT, event_count INTEGER, "
        "exported_at TEXT",
        key="id",
        first=None,
    ),
    Table(
        "events",
        "seq INTEGER NOT NULL, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, at TEXT NOT NULL, "
        "actor TEXT, role TEXT, payload TEXT NOT NULL",
        key="incident_id, seq",
    ),
    Table(
        "timeline",
        "seq INTEGER NOT NULL, at TEXT NOT NULL, actor TEXT, role TEXT, kind TEXT NOT NULL, "
        "text TEXT NOT NULL",
        key="incident_id, seq",
        refs={"seq": "events.seq"},
    ),
    Table(
        "participants",
        "name TEXT NOT NULL, seat TEXT, joined_at TEXT, last_seen TEXT, online_at_export INTEGER, "
        "join_code TEXT",
        key="incident_id, name",
    ),
    Table(
        "roles",
        "role TEXT NOT NULL, holder TEXT NOT NULL, since_seq INTEGER NOT NULL, since TEXT, "
        "until_seq INTEGER, until TEXT",
        key="incident_id, role, since_seq",
        refs={"since_seq": "events.seq"},
    ),
    Table(
        "severity_changes",
        "seq INTEGER NOT NULL, at TEXT, severity TEXT NOT NULL, actor TEXT, reason TEXT",
        key="incident_id, seq",
        refs={"seq": "events.seq"},
    ),
    Table(
        "guesses",
        "no INTEGER NOT NULL, text TEXT NOT NULL, author TEXT, added_at TEXT, "
        "status TEXT NOT NULL, owner TEXT, resolved_by TEXT, resolved_at TEXT, reason TEXT",
        key="incident_id, no",
    ),
    Table(
        "facts",
        "no INTEGER NOT NULL, text TEXT NOT NULL, author TEXT, added_at TEXT, "
        "status TEXT NOT NULL, from_guess INTEGER, confirmed_by TEXT, confirmed_at TEXT, "
        "retracted_by TEXT, retracted_at TEXT, retracted_reason TEXT",
        key="incident_id, no",
        refs={"from_guess": "guesses.no"},
    ),
    Table(
        "board_history",
        "item_no INTEGER NOT NULL, seq INTEGER NOT NULL, at TEXT, actor TEXT, "
        "action TEXT NOT NULL, detail TEXT",
        key="incident_id, item_no, seq",
        refs={"seq": "events.seq"},
    ),
    Table(
        "evidence",
        "item_no INTEGER NOT NULL, position INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT, "
        "text TEXT NOT NULL, by TEXT, at TEXT",
        key="incident_id, item_no, position",
        notes={
            "position": "1, 2, 3 ... in the order the notes were added (one event may add several)"
        },
    ),
    Table(
        "decisions",
        "no INTEGER NOT NULL, seq INTEGER NOT NULL, at TEXT, what TEXT NOT NULL, why TEXT, "
        "options TEXT, owner TEXT, decided_by TEXT, supersedes INTEGER, superseded_by INTEGER",
        key="incident_id, no",
        refs={"seq": "events.seq", "supersedes": "decisions.no"},
    ),
    Table(
        "decision_facts",
        "decision_no INTEGER NOT NULL, fact_no INTEGER NOT NULL",
        key="incident_id, decision_no, fact_no",
        refs={"decision_no": "decisions.no", "fact_no": "facts.no"},
        first="incident_id TEXT NOT NULL",
    ),
    Table(
        "follow_ups",
        "no INTEGER NOT NULL, text TEXT NOT NULL, owner TEXT, due TEXT, noted_by TEXT, at TEXT",
        key="incident_id, no",
    ),
    Table(
        "corrections",
        "seq INTEGER NOT NULL, entry_seq INTEGER NOT NULL, kind TEXT NOT NULL, at TEXT, "
        "actor TEXT, role TEXT, text TEXT, happened_at TEXT, reason TEXT NOT NULL",
        key="incident_id, seq",
        refs={"seq": "events.seq", "entry_seq": "events.seq"},
    ),
    Table(
        "lock_grants",
        "token INTEGER NOT NULL, holder TEXT NOT NULL, granted_at TEXT, via TEXT, "
        "granted_by TEXT, ended_at TEXT, ended TEXT, ended_by TEXT, reason TEXT",
        key="incident_id, token",
    ),
    Table(
        "actions",
        "id TEXT NOT NULL, token INTEGER NOT NULL, kind TEXT, target TEXT, expected TEXT, "
        "metric TEXT, value_before TEXT, value_after TEXT, outcome TEXT, started_by TEXT, "
        "started_at TEXT, finished_by TEXT, finished_at TEXT, note TEXT, undoes TEXT, "
        "undone_by TEXT",
        key="incident_id, id",
        refs={"token": "lock_grants.token"},
    ),
    Table(
        "comms_updates",
        "seq INTEGER NOT NULL, number INTEGER, at TEXT, audience TEXT, author TEXT, "
        "severity TEXT, phase TEXT, text TEXT NOT NULL, next_update_at TEXT",
        key="incident_id, seq",
        refs={"seq": "events.seq"},
    ),
    Table(
        "update_deliveries",
        "update_seq INTEGER NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL, "
        "attempts INTEGER, detail TEXT, at TEXT",
        key="incident_id, update_seq, target",
        refs={"update_seq": "comms_updates.seq"},
    ),
    Table(
        "triage",
        "question TEXT NOT NULL, answer TEXT NOT NULL, answered_by TEXT, answered_at TEXT, "
        "answer_seq INTEGER, confirmed_by TEXT, confirmed_at TEXT",
        key="incident_id, question",
        refs={"answer_seq": "events.seq"},
    ),
    Table(
        "drill_scorecards",
        "scenario TEXT, time_to_declare_s REAL, time_to_first_update_s REAL, "
        "time_to_mitigate_s REAL, overdue_updates INTEGER, actions_taken INTEGER, "
        "actions_helped INTEGER, changes_without_lock INTEGER, decisions INTEGER, "
        "runbook_attached_s REAL, checklist_steps INTEGER, checklist_steps_finished INTEGER, "
        "production_steps_by_hand INTEGER, pipeline_checks INTEGER, pipelines_blocked INTEGER, "
        "pipelines_past_the_lock INTEGER, observations TEXT",
        key="incident_id",
        first="incident_id TEXT PRIMARY KEY REFERENCES incidents(id)",
    ),
    # Issue 20: the alert groups behind each incident and their notifications on its timeline.
    Table(
        "alert_groups",
        "group_id TEXT NOT NULL, source TEXT NOT NULL, summary TEXT, starts_at TEXT, "
        "firing INTEGER, resolved INTEGER, attached_by TEXT, attached_at TEXT, updated_at TEXT",
        key="incident_id, group_id",
        notes={"starts_at": "the group's earliest alert: when monitoring first saw the problem"},
    ),
    Table(
        "alert_notifications",
        "seq INTEGER NOT NULL, group_id TEXT NOT NULL, at TEXT, text TEXT NOT NULL, "
        "firing INTEGER, resolved INTEGER, changes INTEGER, link TEXT, fact_no INTEGER",
        key="incident_id, seq",
        refs={"seq": "events.seq", "group_id": "alert_groups.group_id"},
        notes={"fact_no": "the board fact it was turned into, if any (facts.no)"},
    ),
    # #19: runbooks attached as checklists, and each step as the room worked it.
    Table(
        "checklists",
        "no INTEGER NOT NULL, runbook TEXT NOT NULL, title TEXT, attached_by TEXT, "
        "attached_at TEXT, steps INTEGER, finished INTEGER",
        key="incident_id, no",
    ),
    Table(
        "checklist_steps",
        "checklist_no INTEGER NOT NULL, no INTEGER NOT NULL, do TEXT NOT NULL, command TEXT, "
        "role TEXT, changes_production INTEGER, status TEXT NOT NULL, claimed_by TEXT, "
        "finished_by TEXT, finished_at TEXT, reason TEXT, action_id TEXT, added_by TEXT",
        key="incident_id, checklist_no, no",
        refs={"checklist_no": "checklists.no", "action_id": "actions.id"},
        notes={"action_id": "the production action a step that changes production was done as"},
    ),
)
#: Each table by name.
TABLE: dict[str, Table] = {t.name: t for t in SCHEMA}
#: The statements that create every table a fresh export file needs.
TABLES = "\n" + "".join(t.ddl() for t in SCHEMA)

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
