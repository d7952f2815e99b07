"""Subcommands of ``gridpatrol``; each module exposes ``register(app)``.

Modules import their heavy dependencies inside the command function, so that
``gridpatrol evaluate`` never loads the database or web stack.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_NAMES = ("serve", "importer", "demo", "office", "evaluate", "score", "evaluate_day",
          "audit", "outage", "device")


def _load() -> list[ModuleType]:
    mods = []
    for name in _NAMES:
        try:
            mods.append(importlib.import_module(f"server.commands.{name}"))
        except ModuleNotFoundError as exc:  # a command still being written
            if exc.name != f"server.commands.{name}":
                raise
    return mods


COMMAND_MODULES = _load()
