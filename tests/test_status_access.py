"""Who may open a status page, attacked as an outsider would: no link, a wrong one, a revoked one,
another incident's, a guessed one, an external link asking for more."""

from __future__ import annotations

import hashlib

from tests.helpers import T0, client, declare_incident, running_hub
from tests.status_room import EXTERNAL, INTERNAL, get, make_link, publish, status_room
from warroom.core.clock import ManualClock
from warroom.core.comms_state import Audience
from warroom.core.lifecycle import PhaseChanged
from warroom.core.protocol import Ack, Error
from warroom.core.status_page import PageLinkCreated, PageLinkRevoked
from warroom.core.status_page_state import new_page_link


async def test_no_link_a_wrong_link_or_another_incidents_link_is_refused_alike(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        other = await declare_incident(hub.url, title="Search is slow")
        await publish(room.cy, Audience.EXTERNAL, EXTERNAL, clock)
        key, _ = await make_link(room.cy, Audience.EXTERNAL)
        link_id, secret = key.split(".")
        path = f"/status/{room.incident}"

        nothing = await get(hub.url, path)
        assert nothing.status_code == 401 and "needs a link" in nothing.text
        assert EXTERNAL not in nothing.text

        forged = [
            f"{link_id}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}",  # one character off
            f"{link_id}.{new_page_link().key.split('.')[1]}",  # the right id, a made-up secret
            new_page_link().key,  # a well-formed key nobody made
            f"{link_id}.{hashlib.sha256(secret.encode()).hexdigest()}",  # the digest itself
            link_id,
            "",
            "' OR 1=1 --",
            "x" * 5000,
        ]
        refusals = set()
        for presented in forged:
            page = await get(hub.url, path, params={"key": presented})
            if presented == "":
                assert page.status_code == 401
                continue
            assert page.status_code == 403, presented
            assert EXTERNAL not in page.text and "Checkout" not in page.text
            refusals.add(page.text)
        # A link for one incident opens no other, and the answer does not say whether the
        # other incident exists: the same page for a real id and a made-up one.
        for target in (other, "INC-DOES-NOT-EXIST", "%2e%2e%2fincidents", "inc%00"):
            page = await get(hub.url, f"/status/{target}", params={"key": key})
            assert page.status_code == 403 and "Search is slow" not in page.text
            refusals.add(page.text)
        assert len(refusals) == 1
        # The real key still works.
        assert (await get(hub.url, path, params={"key": key})).status_code == 200
        await room.close()


async def test_an_external_link_never_reads_the_internal_page(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        await publish(room.cy, Audience.INTERNAL, INTERNAL, clock)
        await publish(room.cy, Audience.EXTERNAL, EXTERNAL, clock)
        key, _ = await make_link(room.cy, Audience.EXTERNAL)
        for extra in ({}, {"audience": "internal"}, {"internal": "1"}):
            page = await get(hub.url, f"/status/{room.incident}", params={"key": key, **extra})
            assert page.status_code == 200 and EXTERNAL in page.text
            assert INTERNAL not in page.text and "internal status page" not in page.text
        listed = await get(hub.url, "/status", params={"key": key})
        assert listed.status_code == 200 and room.incident in listed.text
        await room.close()


async def test_a_revoked_link_stops_working_at_once(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        await publish(room.cy, Audience.EXTERNAL, EXTERNAL, clock)
        key, created = await make_link(room.cy, Audience.EXTERNAL, label="support desk")
        kept, _ = await make_link(room.cy, Audience.EXTERNAL)
        path = f"/status/{room.incident}"
        assert (await get(hub.url, path, params={"key": key})).status_code == 200
        link_id = key.split(".")[0]

        # Only the comms lead or the IC revoke a link.
        refused = await room.bo.post(PageLinkRevoked(link_id=link_id))
        assert isinstance(refused, Error) and refused.code == "forbidden"
        ack = await room.ana.post(PageLinkRevoked(link_id=link_id))
        assert isinstance(ack, Ack)
        page = await get(hub.url, path, params={"key": key})
        assert page.status_code == 403 and EXTERNAL not in page.text
        assert (await get(hub.url, "/status", params={"key": key})).status_code == 403
        assert (await get(hub.url, path, params={"key": kept})).status_code == 200

        again = await room.ana.post(PageLinkRevoked(link_id=link_id))
        assert isinstance(again, Error) and again.code == "invalid"
        # The record keeps the digest only: the key itself is nowhere in the room's log.
        await room.ana.wait_for_seq(ack.seq)
        dumped = "".join(e.model_dump_json() for e in room.ana.log)
        assert key.split(".")[1] not in dumped
        assert "support desk" in dumped
        # On the timeline, without the secret.
        stored = next(e for e in room.ana.log if e.id == created.id)
        assert stored.describe() == f"External status page link {link_id} (support desk) created"
        await room.close()


async def test_only_the_ic_or_comms_lead_create_links_and_they_revoke_after_the_close(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        issued = new_page_link()
        command = PageLinkCreated(
            link_id=issued.link_id, digest=issued.digest, audience=Audience.INTERNAL
        )
        refused = await room.bo.post(command)
        assert isinstance(refused, Error) and refused.code == "forbidden"
        assert (
            await get(hub.url, f"/status/{room.incident}", params={"key": issued.key})
        ).status_code == 403
        key, _ = await make_link(room.ana, Audience.INTERNAL)
        # The same id twice is refused (a replayed or predicted id never replaces a link).
        again = await room.cy.post(
            PageLinkCreated(
                link_id=key.split(".")[0], digest=issued.digest, audience=Audience.INTERNAL
            )
        )
        assert isinstance(again, Error) and again.code == "invalid"

        for phase in ("triage", "mitigating", "monitoring"):
            assert isinstance(await room.ana.post(PhaseChanged(phase=phase)), Ack)
        resolved = PhaseChanged(phase="resolved", resolution="rolled back")
        assert isinstance(await room.ana.post(resolved), Ack)
        assert isinstance(await room.ana.post(PhaseChanged(phase="closed")), Ack)
        page = await get(hub.url, f"/status/{room.incident}", params={"key": key})
        assert page.status_code == 200 and "Resolved" in page.text
        assert isinstance(await room.ana.post(PageLinkRevoked(link_id=key.split(".")[0])), Ack)
        page = await get(hub.url, f"/status/{room.incident}", params={"key": key})
        assert page.status_code == 403
        await room.close()


async def test_a_guest_never_makes_a_link(tmp_path):
    from warroom.core.access import JoinCodeCreated, new_join_code

    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        code = new_join_code(room.incident)
        made = JoinCodeCreated(code_id=code.code_id, digest=code.digest)
        assert isinstance(await room.ana.post(made), Ack)
        guest = await client(hub.url, "vendor", "comms", room.incident, join_code=code.code)
        issued = new_page_link()
        refused = await guest.post(
            PageLinkCreated(
                link_id=issued.link_id, digest=issued.digest, audience=Audience.EXTERNAL
            )
        )
        assert isinstance(refused, Error) and refused.code == "forbidden"
        await guest.close()
        await room.close()


async def test_tokens_read_the_internal_page_and_an_open_hub_is_not_an_open_page(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock, tokens={"team": "t" * 32}) as hub:
        headers = {"Authorization": "Bearer " + "t" * 32}
        room = await status_room(hub.url, clock, token="t" * 32)
        await publish(room.cy, Audience.INTERNAL, INTERNAL, clock)
        page = await get(hub.url, f"/status/{room.incident}", headers=headers)
        assert page.status_code == 200 and INTERNAL in page.text
        wrong = await get(
            hub.url, f"/status/{room.incident}", headers={"Authorization": "Bearer no"}
        )
        assert wrong.status_code == 401 and INTERNAL not in wrong.text
        listed = await get(hub.url, "/status", headers={**headers, "Accept": "application/json"})
        assert [row["id"] for row in listed.json()] == [room.incident]
        assert (await get(hub.url, "/status")).status_code == 401
        await room.close()
    # A hub without tokens lets anyone on loopback into the room, but not onto a page.
    async with running_hub(tmp_path / "open.db", clock=ManualClock(T0)) as hub:
        incident = await declare_incident(hub.url)
        assert (await get(hub.url, f"/status/{incident}")).status_code == 401


async def test_open_external_pages_show_external_updates_of_real_incidents(tmp_path):
    from warroom.hub.status_config import StatusConfig

    clock = ManualClock(T0)
    config = StatusConfig(open_external=True)
    async with running_hub(tmp_path / "hub.db", clock=clock, status=config) as hub:
        room = await status_room(hub.url, clock)
        await publish(room.cy, Audience.INTERNAL, INTERNAL, clock)
        await publish(room.cy, Audience.EXTERNAL, EXTERNAL, clock)
        drill = await declare_incident(hub.url, title="Game day", drill=True)
        page = await get(hub.url, f"/status/{room.incident}")
        assert page.status_code == 200 and EXTERNAL in page.text and INTERNAL not in page.text
        assert (await get(hub.url, f"/status/{drill}")).status_code == 404
        assert (await get(hub.url, "/status/INC-NOPE")).status_code == 404
        listed = await get(hub.url, "/status")
        assert room.incident in listed.text and drill not in listed.text
        # A presented key is still checked: a wrong one is refused, not quietly ignored.
        assert (
            await get(hub.url, f"/status/{room.incident}", params={"key": "a.b"})
        ).status_code == 403
        await room.close()


async def test_the_key_never_reaches_a_log_line(tmp_path, caplog):
    import logging

    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        key, _ = await make_link(room.cy, Audience.EXTERNAL)
        secret = key.split(".")[1]
        with caplog.at_level(logging.DEBUG):
            assert (
                await get(hub.url, f"/status/{room.incident}", params={"key": key})
            ).status_code == 200
            assert (await get(hub.url, "/status", params={"key": key})).status_code == 200
        # What the hub logs (the test's own HTTP client logs its URLs; a browser does not).
        logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("warroom"))
        assert f"/status/{room.incident}?key=[redacted]" in logged  # the request line, redacted
        assert secret not in logged
        await room.close()
