"""The ``[roles]`` section of the hub's config: handoff offer lifetime and IC rotation time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from warroom.hub.app import HubConfig, HubConfigError
from warroom.hub.config import apply_config_file

from tests.helpers import T0, client, declare_incident, running_hub
from warroom.core.clock import ManualClock
from warroom.core.roles import Role


def test_the_roles_section_sets_the_handoff_timings():
    config = apply_config_file(HubConfig(), {"roles": {"ic_rotation_hours": 2,
                                                       "handoff_ttl_minutes": 3}})  # fmt: skip
    assert config.settings.ic_rotation == timedelta(hours=2)
    assert config.settings.handoff_ttl == timedelta(minutes=3)
    untouched = apply_config_file(HubConfig(), {"roles": {"ic_rotation_hours": 4}})
    assert untouched.settings.handoff_ttl == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"ic_rotation_hours": 0.1}, "between"),
        ({"handoff_ttl_minutes": "soon"}, "expected a number"),
        ({"rotation": 3}, "unknown keys"),
        ([], "must be a table"),
    ],
)
def test_bad_roles_settings_stop_the_hub_with_a_reason(section, words):
    with pytest.raises(HubConfigError, match=words):
        apply_config_file(HubConfig(), {"roles": section})


async def test_a_configured_rotation_is_stamped_into_the_incident_and_used(tmp_path):
    clock = ManualClock(T0)
    settings = apply_config_file(HubConfig(), {"roles": {"ic_rotation_hours": 1}}).settings
    async with running_hub(tmp_path / "hub.db", clock=clock, settings=settings) as server:
        incident = await declare_incident(server.url)
        ana = await client(server.url, "ana", "ic", incident)
        assert ana.state.settings.ic_rotation == timedelta(hours=1)
        clock.advance(timedelta(hours=1))
        await server.hub.tick()
        await ana.wait_for_seq(server.hub.rooms[incident].head)
        assert ana.state.rotation[Role.IC].holder == "ana"
        await ana.close()
