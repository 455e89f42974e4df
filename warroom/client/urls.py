"""Hub addresses: the websocket URL a console joins, and the HTTP URL of the same hub."""

from __future__ import annotations

import ssl


def http_base(ws_url: str) -> str:
    """``ws://h:p/`` → ``http://h:p`` (and ``wss`` → ``https``)."""
    url = ws_url.rstrip("/")
    if url.startswith("wss://"):
        return "https://" + url[len("wss://") :]
    if url.startswith("ws://"):
        return "http://" + url[len("ws://") :]
    return url


def auth_headers(token: str | None, join_code: str | None = None) -> dict[str, str]:
    """Handshake headers carrying the hub token and/or an incident's join code (never the URL)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if join_code:
        headers["X-Warroom-Join-Code"] = join_code
    return headers


def client_ssl(url: str, cafile: str | None = None) -> ssl.SSLContext | None:
    """The TLS context for a ``wss://`` hub: the system's CAs, or only ``cafile`` when given
    (a hub with a certificate from the team's own CA, or a self-signed one); None for ``ws://``."""
    if not url.startswith("wss://"):
        return None
    return ssl.create_default_context(cafile=cafile)
