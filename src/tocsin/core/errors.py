"""Domain errors. Services raise them; the API and the views turn them into replies."""

from __future__ import annotations


class TocsinError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(TocsinError):
    """Missing, or not visible to this person: both answer 404 so existence does not leak."""

    status = 404


class Forbidden(TocsinError):
    status = 403


class Conflict(TocsinError):
    """A forbidden transition or a clash with the current state."""

    status = 409


class Invalid(TocsinError):
    """Bad input naming a field."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message
