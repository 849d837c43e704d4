"""JSON text through orjson where Tocsin spends its time writing it: the drain writes
three JSON columns for each new alert and the ingest path every row's events. About ten
times faster than `json.dumps` for these small objects; what orjson refuses (integers
beyond 64 bits, keys that are not strings, nesting deeper than 254 levels) goes through
`json`.

The text differs from `json.dumps`'s only in form (no spaces, non-ASCII characters as
UTF-8 rather than escapes, and NaN or infinities as null: they are not JSON), never in
the value a JSON reader gets back. Reading stays with `json`: orjson reads an integer
beyond 64 bits as a float, losing digits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import JSONField


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def json_param(db: BaseDatabaseWrapper, field: JSONField) -> Callable[[Any], Any]:
    """A function from a value to the parameter `field` stores on `db`: what
    `db.ops.adapt_json_value(value, field.encoder)` gives, faster where it can be."""
    if db.vendor == "sqlite" and field.encoder is None:
        return dumps
    encoder = field.encoder
    adapt = db.ops.adapt_json_value
    return lambda value: adapt(value, encoder)
