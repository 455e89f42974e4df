"""The lease time to live: from the hub's config file into each incident it declares."""

from __future__ import annotations

from datetime import timedelta

import pytest
from warroom.hub.app import HubConfig, HubConfigError
from warroom.hub.config import apply_config_file

from tests.helpers import T0, client, declare_incident, running_hub
from warroom.core.clock import ManualClock
from warroom.core.lock import LockRequested


def test_the_lock_section_sets_the_lease_ttl():
    config = apply_config_file(HubConfig(), {"lock": {"ttl_minutes": 3}})
    assert config.settings.lock_ttl == timedelta(minutes=3)
    assert HubConfig().settings.lock_ttl == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"ttl_minutes": 0}, "between 1 and 240"),
        ({"ttl_minutes": 600}, "between 1 and 240"),
        ({"ttl_minutes": "ten"}, "expected a number"),
        ({"ttl": 5}, "unknown keys: ttl"),
        ("10", "must be a table"),
    ],
)
def test_a_bad_lock_section_is_refused_with_what_to_change(section, says):
    with pytest.raises(HubConfigError, match=says):
        apply_config_file(HubConfig(), {"lock": section})


async def test_incidents_take_the_hubs_ttl_at_declaration(tmp_path):
    clock = ManualClock(T0)
    config = apply_config_file(HubConfig(), {"lock": {"ttl_minutes": 3}})
    async with running_hub(tmp_path / "hub.db", clock=clock, settings=config.settings) as hub:
        incident = await declare_incident(hub.url)
        bo = await client(hub.url, "bo", "responder", incident)
        ack = await bo.post(LockRequested())
        await bo.wait_for_seq(ack.seq)
        assert bo.state.settings.lock_ttl == timedelta(minutes=3)
        assert bo.state.lock.expires_at == T0 + timedelta(minutes=3)
        clock.advance(timedelta(minutes=3))
        await hub.hub.tick()
        await bo.wait_for_seq(hub.hub.rooms[incident].head)
        assert bo.state.lock.free
        await bo.close()
