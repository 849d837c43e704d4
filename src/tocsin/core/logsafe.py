"""Keep integration keys out of logs: paths like /integrations/alertmanager/<key> are
logged with the key cut to its first 6 characters (the key_prefix shown in the UI), and
calendar feed tokens (/calendar/<token>.ics) cut to their first 8 (the feed's prefix);
signed page links (/p/<token>/) are cut whole."""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger  # type: ignore[import-untyped]

_KEY_IN_PATH = re.compile(r"(/integrations/[a-z]+/)([A-Za-z0-9]{6})[A-Za-z0-9]{26}(?![A-Za-z0-9])")


# calendar feed addresses /calendar/<token>.ics: the token cut to its prefix (8 characters)
_FEED_IN_PATH = re.compile(r"(/calendar/)([A-Za-z0-9_-]{8})[A-Za-z0-9_-]+(?=\.ics)")


# signed page links /p/<token>/ (tocsin.escalation.links): a bearer secret, cut whole
_PAGE_LINK_IN_PATH = re.compile(r"(/p/)[A-Za-z0-9_:-]{8,}")


def redact(text: str) -> str:
    text = _FEED_IN_PATH.sub(r"\1\2…", _KEY_IN_PATH.sub(r"\1\2…", text))
    return _PAGE_LINK_IN_PATH.sub(r"\1…", text)


class RedactKeysFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's access log with the same redaction."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        return atoms
