"""Subcommands of ``gridpatrol``; each module exposes ``register(app)``.

Modules import their heavy dependencies inside the command function, so that
``gridpatrol evaluate`` never loads the database or web stack.
"""

from __future__ import annotations

from server.commands import (
    accounts,
    audit,
    backup,
    copy_data,
    demo,
    device,
    evaluate,
    evaluate_day,
    importer,
    office,
    outage,
    score,
    serve,
)

COMMAND_MODULES = [serve, importer, demo, office, evaluate, score, evaluate_day, audit, outage,
                   accounts, backup, copy_data, device]
