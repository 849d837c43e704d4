from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from tests.incidents.helpers import T0


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """Time frozen at T0 (a Monday, 10:00 UTC); move it with clock.shift / move_to."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    """People are created in every test; a fast hasher keeps the suite quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
