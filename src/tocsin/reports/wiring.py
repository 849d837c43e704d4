"""Start-up wiring of the reports app: imports the modules that register metrics."""

from __future__ import annotations


def register() -> None:
    """Each line imports a module whose import registers its metrics."""
    from tocsin.reports import (
        noise,  # noqa: F401 - alerts per incident, pages without action
        oncall_load,  # noqa: F401  pages_out_of_hours
    )
