"""Export an incident's record to SQLite for the postmortem, and draft the review."""
