"""The status page as HTML: plain, semantic, escaped, readable on a phone and on paper.

Everything a page shows comes from a :class:`~warroom.core.status_page_view.StatusView` and passes
through :func:`html.escape`; the page has no inline script or style (the hub's Content Security
Policy forbids both), so even a missed escape could not run code. The small script at
``/status.js`` makes the page live and shows times in the reader's own time zone; without it the
page shows UTC times and reloads itself every ``refresh`` seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from warroom.core.comms_state import Audience
from warroom.core.status_page_view import PageUpdate, StatusView


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def when(at: datetime | None) -> str:
    """A ``<time>`` in UTC; the script adds the reader's local time in front of it."""
    if at is None:
        return "—"
    utc = at.astimezone(UTC)
    return (
        f'<time datetime="{_e(utc.isoformat().replace("+00:00", "Z"))}">'
        f"{_e(utc.strftime('%Y-%m-%d %H:%M'))} UTC</time>"
    )


def _paragraphs(text: str) -> str:
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return "".join(f"<p>{_e(b).replace(chr(10), '<br>')}</p>" for b in blocks)


def _update(update: PageUpdate, heading: str) -> str:
    audience = "" if update.audience == Audience.EXTERNAL else " (internal)"
    return (
        f'<article class="update" id="update-{update.number}">'
        f"<{heading}>Update {update.number}{audience} · {when(update.at)}</{heading}>"
        f"{_paragraphs(update.text)}</article>"
    )


def main_html(view: StatusView) -> str:
    """The page's ``<main>`` content: sent whole on load, and again on every visible change."""
    parts: list[str] = []
    if view.drill:
        parts.append('<p class="drill"><strong>This is a drill</strong>, not a real incident.</p>')
    parts.append(f'<h1 id="title">{_e(view.title or view.incident_id)}</h1>')
    sev_class = f"sev sev{view.severity.level}"
    parts.append(
        '<dl class="summary">'
        f'<div><dt>Status</dt><dd id="phase"><strong>{_e(view.phase_headline)}</strong>. '
        f"{_e(view.phase_sentence)}</dd></div>"
        f'<div><dt>Severity</dt><dd id="severity"><strong class="{sev_class}">'
        f"{_e(view.severity_words)} ({_e(view.severity.value)})</strong>: "
        f"{_e(view.severity_meaning)}</dd></div>"
    )
    latest = view.latest
    if view.affected:
        parts.append(f'<div><dt>Affected</dt><dd id="affected">{_e(view.affected)}</dd></div>')
    if view.not_affected:
        parts.append(
            f'<div><dt>Not affected</dt><dd id="not-affected">{_e(view.not_affected)}</dd></div>'
        )
    parts.append(f'<div><dt>Next update</dt><dd id="next-update">{_next_line(view)}</dd></div>')
    parts.append("</dl>")
    parts.append('<section id="latest" aria-labelledby="latest-heading">')
    parts.append('<h2 id="latest-heading">Latest update</h2>')
    if latest is None:
        parts.append("<p>No update has been published yet.</p>")
    else:
        parts.append(_update(latest, "h3"))
    parts.append("</section>")
    earlier = view.updates[1:]
    if earlier:
        parts.append('<section id="history" aria-labelledby="history-heading">')
        parts.append('<h2 id="history-heading">Earlier updates</h2>')
        parts.append("".join(_update(u, "h3") for u in earlier))
        parts.append("</section>")
    return "".join(parts)


def _next_line(view: StatusView) -> str:
    if view.ended:
        return "No more updates are planned: the incident is resolved."
    if view.next_update_at is None:
        return "When there is news."
    if view.next_update_late:
        return f"Was promised by {when(view.next_update_at)}; it is late."
    return f"By {when(view.next_update_at)}."


def page_title(view: StatusView) -> str:
    return f"{view.phase_headline}: {view.title or view.incident_id}"


@dataclass(frozen=True)
class PageFrame:
    """What surrounds the content: where the live feed is and how often to reload without it."""

    live_path: str
    refresh: int


def document(title: str, body: str, refresh: int | None = None, live_path: str = "") -> str:
    """A whole HTML document around ``body`` (already escaped HTML)."""
    reload_tag = (
        f'<noscript><meta http-equiv="refresh" content="{int(refresh)}"></noscript>'
        if refresh
        else ""
    )
    live_attr = f' data-live="{_e(live_path)}"' if live_path else ""
    script = '<script src="/status.js" defer></script>' if live_path else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title>"
        '<link rel="stylesheet" href="/status.css">'
        f"{reload_tag}{script}</head>"
        f"<body{live_attr}>{body}</body></html>\n"
    )


def status_document(view: StatusView, frame: PageFrame) -> str:
    live = (
        f'<p id="live" role="status" data-state="static">'
        f"This page reloads itself every {frame.refresh} seconds.</p>"
    )
    body = (
        f'<header><p class="incident">Incident {_e(view.incident_id)} · '
        f"{_e(view.audience.value)} status page</p>{live}</header>"
        f'<main id="page">{main_html(view)}</main>'
        "<footer><p>Times are shown in your own time zone, with UTC beside them.</p></footer>"
    )
    return document(page_title(view), body, frame.refresh, frame.live_path)


def refusal_document(heading: str, message: str) -> str:
    body = f'<main id="page"><h1>{_e(heading)}</h1><p id="refusal">{_e(message)}</p></main>'
    return document(heading, body)


@dataclass(frozen=True)
class Listed:
    """One incident in ``GET /status``."""

    incident_id: str
    title: str
    severity: str
    phase: str
    href: str


def listing_document(rows: Iterable[Listed]) -> str:
    items = "".join(
        f'<li><a href="{_e(r.href)}">{_e(r.title or r.incident_id)}</a> · '
        f"{_e(r.severity)} · {_e(r.phase)}</li>"
        for r in rows
    )
    body = (
        '<main id="page"><h1>Incidents</h1>'
        + (f'<ul id="incidents">{items}</ul>' if items else "<p>No incident to show.</p>")
        + "</main>"
    )
    return document("Incidents", body)


def page_href(incident_id: str, key: str) -> str:
    path = f"/status/{quote(incident_id, safe='')}"
    return f"{path}?key={quote(key, safe='')}" if key else path


STYLE = """\
:root { color-scheme: light dark; --fg: #111; --bg: #fff; --muted: #444; --rule: #767676;
  --sev1: #a00000; --sev2: #8a4500; --sev3: #1f4f8a; --sev4: #333; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #f2f2f2; --bg: #111; --muted: #c8c8c8; --rule: #8c8c8c;
    --sev1: #ff8a8a; --sev2: #ffb870; --sev3: #9cc7ff; --sev4: #ddd; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 46rem; padding: 1rem; font: 1.05rem/1.5 system-ui, sans-serif;
  color: var(--fg); background: var(--bg); overflow-wrap: anywhere; }
header { border-bottom: 2px solid var(--rule); margin-bottom: 1rem; }
.incident { color: var(--muted); margin: 0; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: .5rem 0 1rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid var(--rule); padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 0 0 .4rem; }
dl.summary { margin: 0 0 1rem; }
dl.summary div { display: flex; flex-wrap: wrap; gap: 0 .75rem; padding: .35rem 0;
  border-bottom: 1px solid var(--rule); }
dt { font-weight: 700; min-width: 8rem; }
dd { margin: 0; flex: 1 1 18rem; }
.sev1 { color: var(--sev1); } .sev2 { color: var(--sev2); }
.sev3 { color: var(--sev3); } .sev4 { color: var(--sev4); }
.update { border-left: 4px solid var(--rule); padding: .1rem 0 .1rem .8rem; margin: 0 0 1.2rem; }
.drill { border: 2px dashed var(--rule); padding: .5rem; }
#live { margin: .25rem 0 .5rem; color: var(--muted); font-size: .95rem; }
#live[data-state="lost"], #live[data-state="refused"] { color: var(--sev1); font-weight: 700; }
footer { color: var(--muted); font-size: .9rem; border-top: 1px solid var(--rule); margin-top: 2rem; }
@media print { #live, footer { display: none; } body { max-width: none; } }
"""

SCRIPT = """\
(function () {
  "use strict";
  var live = document.getElementById("live");
  var path = document.body.getAttribute("data-live");
  if (!live || !path) { return; }
  var key = new URLSearchParams(window.location.search).get("key") || "";
  var delay = 1000;
  var stopped = false;

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function localise(root) {
    var times = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var t = times[i];
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime())) { continue; }
      var local = d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
      t.textContent = local + " (" + two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + " UTC)";
    }
  }
  function say(state, text) { live.setAttribute("data-state", state); live.textContent = text; }
  function refused() {
    stopped = true;
    var main = document.getElementById("page");
    main.textContent = "";
    var p = document.createElement("p");
    p.id = "refusal";
    p.textContent = "This link no longer opens the page: it was revoked. Ask the incident team for a new one.";
    main.appendChild(p);
    say("refused", "Not connected: this link was revoked.");
  }
  function retry() {
    window.setTimeout(function () {
      fetch(window.location.href, { cache: "no-store", credentials: "omit" }).then(function (r) {
        if (r.status === 401 || r.status === 403 || r.status === 404) { refused(); } else { connect(); }
      }).catch(function () {
        delay = Math.min(delay * 2, 15000);
        say("lost", "Lost the connection to the hub; trying again in " + Math.round(delay / 1000) + " s.");
        retry();
      });
    }, delay);
  }
  function connect() {
    if (stopped) { return; }
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + window.location.host + path + (key ? "?key=" + encodeURIComponent(key) : "");
    var ws = new WebSocket(url);
    ws.onopen = function () { delay = 1000; say("live", "Live: this page updates by itself."); };
    ws.onmessage = function (m) {
      var msg = JSON.parse(m.data);
      if (msg.type !== "page") { return; }
      var main = document.getElementById("page");
      main.innerHTML = msg.html;
      localise(main);
      document.title = msg.title;
    };
    ws.onclose = function (e) {
      if (stopped) { return; }
      if (e.code === 4403) { refused(); return; }
      delay = Math.min(delay * 2, 15000);
      say("lost", "Lost the connection to the hub; reconnecting…");
      retry();
    };
  }
  localise(document);
  connect();
})();
"""
