"""Hub addresses: the websocket URL a console joins, and the HTTP URL of the same hub."""

from __future__ import annotations


def http_base(ws_url: str) -> str:
    """``ws://h:p/`` → ``http://h:p`` (and ``wss`` → ``https``)."""
    url = ws_url.rstrip("/")
    if url.startswith("wss://"):
        return "https://" + url[len("wss://") :]
    if url.startswith("ws://"):
        return "http://" + url[len("ws://") :]
    return url


def auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
