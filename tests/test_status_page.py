"""The status page's content: only what was published for its audience, escaped, readable."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

from tests.helpers import T0, running_hub
from tests.status_room import (
    EXTERNAL,
    GUESS,
    INTERNAL,
    NOTE,
    get,
    make_link,
    publish,
    status_room,
)
from warroom.core.clock import ManualClock
from warroom.core.comms_state import Audience
from warroom.core.lifecycle import PhaseChanged, SeverityChanged
from warroom.core.protocol import Ack


class Checked(HTMLParser):
    """Collects start tags and text, so a test can say what a page contains as a browser would."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> Checked:
    checker = Checked()
    checker.feed(html)
    return checker


async def test_an_external_page_shows_only_external_updates_and_no_room_secrets(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        await publish(room.cy, Audience.INTERNAL, INTERNAL, clock)
        await publish(
            room.cy,
            Audience.EXTERNAL,
            EXTERNAL,
            clock,
            affected="Card payments in the EU",
            not_affected="Bank transfers",
        )
        external_key, _ = await make_link(room.cy, Audience.EXTERNAL)
        internal_key, _ = await make_link(room.ana, Audience.INTERNAL)

        page = await get(hub.url, f"/status/{room.incident}", params={"key": external_key})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        html = page.text
        assert EXTERNAL in html and "Checkout errors after deploy" in html
        assert "Major (SEV2)" in html and "Investigating" in html
        assert "Card payments in the EU" in html and "Bank transfers" in html
        # Nothing the external audience was not told: not the internal update, the guess, the
        # note, nor anyone's name (the update did not name them).
        for secret in ("SECRET", GUESS, NOTE, INTERNAL, "ana", "bo", "cy"):
            assert not re.search(rf"\b{re.escape(secret)}\b", html), secret
        # Numbered for the reader: the internal update in between leaves no gap.
        assert "Update 1 " in html and "Update 2" not in html
        assert (
            f'datetime="{(T0 + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")}"' in html
        )
        assert "2026-03-14 09:05 UTC" in html and "09:35 UTC" in html  # next update promised

        internal = (
            await get(hub.url, f"/status/{room.incident}", params={"key": internal_key})
        ).text
        assert INTERNAL in internal and EXTERNAL in internal
        assert "Update 2 " in internal and "Update 1 (internal)" in internal
        for secret in (GUESS, NOTE):
            assert secret not in internal
        assert not re.search(r"\b(ana|bo|cy)\b", internal)
        await room.close()


async def test_markup_in_an_update_is_shown_as_text_never_run(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        hostile = '<script>alert("x")</script> <img src=x onerror=alert(1)> & <b>bold</b> "q"'
        await publish(room.cy, Audience.EXTERNAL, hostile, clock, affected="<i>EU</i>")
        key, _ = await make_link(room.cy, Audience.EXTERNAL)
        page = await get(hub.url, f"/status/{room.incident}", params={"key": key})
        html = page.text
        assert hostile not in html and "<i>EU</i>" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
        checker = parsed(html)
        # The only tags are the page's own: no img, no b, no i, and the one script is the hub's.
        assert {"img", "b", "i"}.isdisjoint(checker.tags)
        assert checker.tags.count("script") == 1 and '<script src="/status.js" defer>' in html
        assert hostile in "".join(checker.text)  # a reader sees exactly what was published
        # The browser is told to run no inline script, send no referrer and cache nothing.
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
        await room.close()


async def test_the_page_follows_severity_and_phase_and_works_without_javascript(tmp_path):
    clock = ManualClock(T0)
    async with running_hub(tmp_path / "hub.db", clock=clock) as hub:
        room = await status_room(hub.url, clock)
        key, _ = await make_link(room.cy, Audience.EXTERNAL)
        html = (await get(hub.url, f"/status/{room.incident}", params={"key": key})).text
        assert "No update has been published yet." in html
        assert "When there is news." in html
        # Without JavaScript the page reloads itself; with it, the script takes over.
        assert '<noscript><meta http-equiv="refresh" content="60"></noscript>' in html
        assert f'data-live="/status/{room.incident}/live"' in html

        ack = await room.ana.post(SeverityChanged(severity="SEV1", reason="all of the EU"))
        assert isinstance(ack, Ack)
        assert isinstance(await room.ana.post(PhaseChanged(phase="triage")), Ack)
        assert isinstance(await room.ana.post(PhaseChanged(phase="mitigating")), Ack)
        html = (await get(hub.url, f"/status/{room.incident}", params={"key": key})).text
        assert "Critical (SEV1)" in html and "Fixing" in html
        assert "all of the EU" not in html  # the IC's reason is the room's, not the page's

        await publish(room.cy, Audience.EXTERNAL, EXTERNAL, clock)
        clock.advance(timedelta(minutes=31))
        html = (await get(hub.url, f"/status/{room.incident}", params={"key": key})).text
        assert "it is late" in html
        await room.close()


async def test_the_script_and_style_are_served_without_a_key(tmp_path):
    async with running_hub(tmp_path / "hub.db") as hub:
        script = await get(hub.url, "/status.js")
        style = await get(hub.url, "/status.css")
        assert script.status_code == 200 and "WebSocket" in script.text
        assert script.headers["content-type"].startswith("text/javascript")
        assert style.status_code == 200 and "prefers-color-scheme" in style.text
