"""The fast JSON writer gives back what the standard library would, including for what
orjson itself refuses."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from tocsin.core import jsonfast

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: orjson refuses those, json takes them
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=30,
)


@given(JSON_VALUES)
def test_dumps_round_trips_like_json(value: object) -> None:
    assert json.loads(jsonfast.dumps(value)) == value


def test_what_orjson_refuses_goes_through_json() -> None:
    huge = {"bytes": 2**80, 1: "an integer key"}
    assert json.loads(jsonfast.dumps(huge)) == {"bytes": 2**80, "1": "an integer key"}


def test_not_a_number_is_stored_as_null_which_json_can_read() -> None:
    assert json.loads(jsonfast.dumps({"x": math.nan, "y": math.inf})) == {"x": None, "y": None}
