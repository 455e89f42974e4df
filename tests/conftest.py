import os
import time

import pytest

#: A real PostgreSQL server for the tests that ask for one (pg_server, pg_url; #22), and
#: hub_db: each test that asks for it runs on a SQLite file and on PostgreSQL.
pytest_plugins = ["tests.postgres", "tests.hub_db"]

# Colour settings from the environment would change snapshots.
os.environ.pop("NO_COLOR", None)
os.environ.pop("TEXTUAL_THEME", None)
# Consoles show times in the system's zone unless told otherwise: UTC here, on every machine.
os.environ["TZ"] = "UTC"
time.tzset()


@pytest.fixture(autouse=True)
def _own_state_dir(tmp_path_factory, monkeypatch):
    """Each test keeps console outboxes in a directory of its own, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
