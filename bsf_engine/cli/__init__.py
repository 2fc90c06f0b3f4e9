"""The `bsf` console script: Typer commands over the engine's core, rendered with Rich
and plotext. The only part of the engine that imports typer, rich or plotext; nothing in
the core imports it. `bsf tui` imports the terminal UI (bsf_tui) when it runs.

Commands are registered here, in the order `bsf -h` lists them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import BsfError
from . import inspect_commands, run_commands, stage_commands
from .app import app, guarded, main


@guarded
def tui(
    folder: Annotated[str, typer.Argument(help="projects folder")] = "projects",
) -> None:
    """The terminal UI: projects, runs (launched detached), α, energy–accuracy, spikes."""
    if not Path(folder).is_dir():
        raise BsfError(f"{folder}: no such folder; give the folder that holds your projects")
    from bsf_tui.app import BsfApp  # only this command loads Textual

    BsfApp(Path(folder)).run()


COMMANDS = (
    ("new", stage_commands.new),
    ("validate", stage_commands.validate),
    ("info", inspect_commands.info),
    ("train", stage_commands.train),
    ("convert", stage_commands.convert),
    ("simulate", stage_commands.simulate),
    ("inspect", inspect_commands.inspect),
    ("tune", stage_commands.tune),
    ("report", stage_commands.report),
    ("exit", stage_commands.exit_),
    ("run", run_commands.run),
    ("status", run_commands.status),
    ("ps", run_commands.ps),
    ("logs", run_commands.logs),
    ("cancel", run_commands.cancel),
    ("tui", tui),
)
for _name, _command in COMMANDS:
    app.command(_name)(_command)

__all__ = ["app", "main"]
