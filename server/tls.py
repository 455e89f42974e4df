"""TLS for the hub (``wss://``): the server context from a certificate and key, and its checks.

A hub that listens beyond loopback carries tokens, join codes and the whole incident record over
the network, so it needs TLS as much as it needs a token. The context refuses anything older than
TLS 1.2.
"""

from __future__ import annotations

import ssl
from pathlib import Path


class TLSConfigError(ValueError):
    """A certificate or key the hub cannot use; the message says which and why."""


def server_context(certfile: str | Path, keyfile: str | Path | None = None) -> ssl.SSLContext:
    """An SSL context for the hub's listening socket."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
    except FileNotFoundError as exc:
        raise TLSConfigError(f"No such certificate or key file: {exc.filename}.") from exc
    except ssl.SSLError as exc:
        raise TLSConfigError(
            f"Cannot use {certfile} with {keyfile or 'its own key'}: {exc.reason or exc}. "
            "Give a PEM certificate (chain) and its private key."
        ) from exc
    return context
