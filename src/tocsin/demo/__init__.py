"""The demo organisation (`tocsin demo`, `tocsin up --demo`).

It sits on top of every app and uses their services as a person would; nothing in
Tocsin imports it but the CLI.
"""

from tocsin.demo.organisation import DEMO_PASSWORD, load_demo

__all__ = ["DEMO_PASSWORD", "load_demo"]
