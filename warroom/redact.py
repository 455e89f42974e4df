"""Keeping secrets out of logs, on the hub and in the console.

The websockets library logs every handshake header at debug level, as ``("%s: %s", name, value)``
(``< `` for what it received, ``> `` for what it sent). :class:`RedactSecrets` replaces the value of
the headers that carry a hub token or a join code, so turning on debug logging to chase a
connection problem never writes a secret to a terminal, a file or a log shipper.
"""

from __future__ import annotations

import logging
import re

#: Handshake headers that carry secrets (lower case).
SECRET_HEADERS = frozenset({"authorization", "x-warroom-join-code"})
#: A status page link's key in a request line (``< GET /status/X?key=... HTTP/1.1``).
_PAGE_KEY = re.compile(r"([?&]key=)[^&\s]*")


class RedactSecrets(logging.Filter):
    """Replaces the value of secret handshake headers in websockets' debug lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) == 2
            and isinstance(args[0], str)
            and args[0].lower() in SECRET_HEADERS
        ):
            record.args = (args[0], "[redacted]")
        elif isinstance(args, tuple) and any(isinstance(a, str) and "key=" in a for a in args):
            record.args = tuple(
                _PAGE_KEY.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in args
            )
        return True


def redacted_logger(name: str) -> logging.Logger:
    """A logger to hand to a websockets server or client: the same lines, minus the secrets."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())
    return logger
