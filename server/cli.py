"""The ``gridpatrol`` console command: one Typer app, one module per subcommand."""

from __future__ import annotations

import typer

from server.commands import COMMAND_MODULES

app = typer.Typer(
    name="gridpatrol",
    help="Patrol and positioning compliance for township grid workers (网格员).",
    no_args_is_help=True,
    add_completion=False,
)

for _module in COMMAND_MODULES:
    _module.register(app)


def main() -> None:
    """Entry point of the ``gridpatrol`` console script."""
    app()


if __name__ == "__main__":
    main()
