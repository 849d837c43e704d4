"""What the comms app hooks into the apps below it at start-up (one function per
feature, each owned by the module that implements it)."""

from __future__ import annotations


def register() -> None:
    from tocsin.comms import major_views

    major_views.register()
