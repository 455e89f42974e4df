"""The status page in a real browser: Debian's headless Chromium, driven through chromedriver.

A hub runs in its own process (the browser's calls block, the hub must not). The room publishes
from ordinary hub clients; the page must follow without a reload, never hold an open guess, a note
or an internal update in its DOM, show markup as text, fit a phone's width, say when it has lost
the hub and come back by itself, and show a revoked link's refusal. Screenshots at phone and
desktop width are saved and checked for the key texts.

``.ci/run`` installs ``chromium`` and ``chromium-driver``; without them this test fails, saying
what to install (as the Alertmanager test does: a missing browser is never a silent pass).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import HubProcess, client, declare_incident
from tests.status_room import EXTERNAL, GUESS, INTERNAL, NOTE, make_link
from warroom.core.board import BoardItemAdded
from warroom.core.comms import UpdatePublished
from warroom.core.comms_state import Audience
from warroom.core.incident import NoteAdded
from warroom.core.lifecycle import SeverityChanged
from warroom.core.protocol import Ack
from warroom.core.status_page import PageLinkRevoked

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoAlertPresentException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

HOSTILE = '<script>window.pwned = 1; alert("x")</script><img src=x onerror="window.pwned=2">'
#: Where the screenshots are kept for a person to look at (and the README's picture comes from).
SHOTS = Path(os.environ.get("WARROOM_SHOTS", "/tmp/warroom-status-shots"))


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail(
            "Chromium is not installed: apt-get install chromium chromium-driver "
            "(.ci/run installs them when missing)."
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER or ""))
    try:
        yield driver
    finally:
        driver.quit()


async def in_browser(call: Callable[..., Any], *args: Any) -> Any:
    """Selenium blocks: run it off the loop, so the clients in this test keep talking."""
    return await asyncio.to_thread(call, *args)


def text_of(driver: webdriver.Chrome, css: str) -> str:
    """The element's text; read again if the live feed replaced the element meanwhile."""
    for _ in range(20):
        try:
            return driver.find_element(By.CSS_SELECTOR, css).text
        except StaleElementReferenceException:
            continue
    return driver.find_element(By.CSS_SELECTOR, css).text


def wait_for(
    driver: webdriver.Chrome, predicate: Callable[[webdriver.Chrome], Any], seconds: float
) -> float:
    """How long ``predicate`` took to hold (fails after ``seconds``)."""
    start = time.monotonic()
    WebDriverWait(driver, seconds, poll_frequency=0.05).until(predicate)
    return time.monotonic() - start


async def test_the_page_in_a_real_browser(tmp_path, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    hub = HubProcess(tmp_path / "hub.db")
    await in_browser(hub.start)
    people = []
    try:
        incident = await declare_incident(hub.url, scope="Card payments in the EU")
        ana = await client(hub.url, "ana", "ic", incident)
        cy = await client(hub.url, "cy", "comms", incident)
        bo = await client(hub.url, "bo", "responder", incident)
        people = [ana, cy, bo]
        assert isinstance(await bo.post(BoardItemAdded(kind="guess", text=GUESS)), Ack)
        assert isinstance(await bo.post(NoteAdded(text=NOTE)), Ack)
        assert isinstance(await cy.post(UpdatePublished(audience="internal", text=INTERNAL)), Ack)
        first = UpdatePublished(
            audience="external", text=f"{EXTERNAL}\n\n{HOSTILE}", fields={"affected": "EU checkout"}
        )
        assert isinstance(await cy.post(first), Ack)
        key, _ = await make_link(cy, Audience.EXTERNAL, label="support desk")
        url = hub.url.replace("ws://", "http://") + f"/status/{incident}?key={key}"

        # A reader in Berlin: times in their own zone first, UTC beside them.
        browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Europe/Berlin"})
        await in_browser(browser.get, url)
        await in_browser(wait_for, browser, lambda d: "Live" in text_of(d, "#live"), 10)
        assert text_of(browser, "#severity").startswith("Major (SEV2)")
        assert text_of(browser, "#phase").startswith("Investigating")
        latest = text_of(browser, "#latest")
        assert EXTERNAL in latest and HOSTILE in latest  # the markup is shown as text
        stamp = browser.find_element(By.CSS_SELECTOR, "#latest time")
        at = datetime.fromisoformat(stamp.get_attribute("datetime") or "")
        berlin = at.astimezone(ZoneInfo("Europe/Berlin"))
        assert stamp.text.endswith(f"{berlin.strftime('%-I:%M %p')} ({at.strftime('%H:%M')} UTC)")
        assert text_of(browser, "#affected") == "EU checkout"
        assert browser.execute_script("return window.pwned === undefined")
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018
        html = browser.page_source
        for secret in (GUESS, NOTE, INTERNAL, "SECRET", "bo", "ana"):
            assert not re.search(rf"\b{re.escape(secret)}\b", html), secret

        # Mark this page: a reload would forget the mark.
        browser.execute_script("window.notReloaded = true")
        second = "Update: a fix is rolling out to all EU regions."
        published = time.monotonic()
        assert isinstance(await cy.post(UpdatePublished(audience="external", text=second)), Ack)
        took = await in_browser(wait_for, browser, lambda d: second in text_of(d, "#latest"), 5)
        print(
            f"\nthe page showed the new update {time.monotonic() - published:.2f} s after the publish"
        )
        assert took < 5
        assert browser.execute_script("return window.notReloaded === true")
        assert EXTERNAL in text_of(browser, "#history")
        assert isinstance(
            await cy.post(UpdatePublished(audience="internal", text=INTERNAL + " 2")), Ack
        )
        assert isinstance(
            await ana.post(SeverityChanged(severity="SEV1", reason="whole region down")), Ack
        )
        await in_browser(
            wait_for, browser, lambda d: text_of(d, "#severity").startswith("Critical (SEV1)"), 5
        )
        assert (
            INTERNAL not in browser.page_source and "whole region down" not in browser.page_source
        )

        # Phone and desktop: the key texts on screen, nothing wider than the screen.
        for name, (width, height) in {"phone": (390, 844), "desktop": (1280, 900)}.items():
            await in_browser(browser.set_window_size, width, height)
            await asyncio.sleep(0.3)
            assert browser.execute_script(
                "return document.documentElement.scrollWidth <= window.innerWidth"
            ), name
            for css in ("#title", "#severity", "#latest"):
                assert browser.find_element(By.CSS_SELECTOR, css).is_displayed()
            shot = SHOTS / f"status-{name}.png"
            assert await in_browser(browser.save_screenshot, str(shot))
            assert shot.stat().st_size > 10_000

        # The hub goes away: the page says so, and comes back by itself when the hub does.
        hub.kill()
        await in_browser(wait_for, browser, lambda d: "Lost" in text_of(d, "#live"), 10)
        assert second in text_of(browser, "#latest")  # what it showed stays readable
        await in_browser(hub.start)
        await in_browser(wait_for, browser, lambda d: "Live" in text_of(d, "#live"), 30)
        await asyncio.gather(*(c.wait_synced() for c in people))

        # Revoked: the open page stops at once and says why; a reload is refused.
        assert isinstance(await cy.post(PageLinkRevoked(link_id=key.split(".")[0])), Ack)
        await in_browser(wait_for, browser, lambda d: "revoked" in text_of(d, "#live"), 5)
        assert second not in text_of(browser, "main")
        await in_browser(browser.refresh)
        assert "Link not valid" in text_of(browser, "h1")
        assert second not in browser.page_source
    finally:
        for person in people:
            await person.close()
        hub.kill()
