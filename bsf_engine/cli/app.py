"""The Typer app, its consoles, and what every command shares: the project argument,
one-line errors with exit codes, and the project lock for a stage's own command.

Data goes to stdout, progress and diagnostics to stderr. Exit codes: 0 ok,
1 unexpected failure, 2 bad input (config, missing stage, refused overwrite),
130 interrupted.
"""

from __future__ import annotations

import functools
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from .. import __version__
from ..errors import EXIT_FAILURE, EXIT_INTERRUPTED, BsfError, Interrupted

app = typer.Typer(
    name="bsf",
    help="BayesianSpikeFusion end to end: train, convert, simulate, fuse, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _plain_metavars() -> None:
    """Help in plain words: Typer 0.29 writes a required argument as `{project}` and
    every value as its Python type (`<str>`, `<list[int]>`); here an argument reads
    `PROJECT` and an option's value its metavar, or `N` / `NUMBER` / the option's flag
    (`--root ROOT`). One place for every command (a test checks each `-h`)."""
    from typer.core import TyperArgument, TyperOption

    def argument_usage(self) -> str:
        name = self.display_name_raw.upper()
        return (name if self.required else f"[{name}]") + ("..." if self.nargs != 1 else "")

    def option_value(self, ctx) -> str | None:
        if self.metavar is not None:
            return self.metavar
        kind = self.display_type(ctx) or ""  # Typer's own label: <int>, <list[int]>, ...
        if "int" in kind:
            return "N"
        if "float" in kind:
            return "NUMBER"
        flag = max(self.opts, key=len).lstrip("-")  # --csv CSV, not its parameter csv_dir
        return flag.replace("-", "_").upper()

    TyperArgument._usage_display_name = argument_usage
    TyperArgument._rich_display_name = lambda self: self.display_name_raw.upper()
    TyperArgument.display_type_rich = lambda self, ctx: None
    TyperOption.display_type_rich = option_value


_plain_metavars()
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
STATE = {"debug": False}

ProjectArg = Annotated[
    str, typer.Argument(help="project folder, its project.toml, or a name under ./projects/")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="redo the stage even if its result exists, replacing it")
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads",
        min=1,
        help="CPU threads for torch; wins over OMP_NUM_THREADS and [compute] threads "
        "(default: per stage, one for tune and report)",
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"bsf {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks of errors")] = False,
) -> None:
    STATE["debug"] = debug


def guarded(func):
    """Turn engine errors into one-line messages and exit codes (tracebacks with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BsfError as exc:
            if STATE["debug"]:
                raise
            for line in exc.problems:
                err.print(f"error: {line}", markup=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except (KeyboardInterrupt, Interrupted) as exc:
            message = str(exc) or "stopped"
            err.print(
                f"interrupted: {message}; finished work is kept, rerun to continue",
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except typer.Exit:
            raise
        except Exception as exc:
            if STATE["debug"]:
                raise
            err.print(
                f"error: unexpected {exc.__class__.__name__}: {exc} (rerun with --debug "
                "for the traceback)",
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_FAILURE) from None

    return wrapper


def open_project(project: str):
    from ..project import Project

    return Project.open(project)


def writing(p, command: str):
    """The project lock for one stage's own command (refused while a run holds it).
    Under torchrun the leader (rank 0) holds it for every rank."""
    from contextlib import nullcontext

    from ..distributed import world
    from ..errors import BsfError
    from ..runs.lock import held
    from ..stages import STAGES

    here = world()
    sharded = sorted({s.command for s in STAGES if s.sharded})
    if here.sharded and command not in sharded:
        raise BsfError(
            f"`bsf {command}` runs as one process; under torchrun only `bsf run` and "
            f"{', '.join(f'`bsf {c}`' for c in sharded)} share their work"
        )
    return held(p.folder, f"`bsf {command}`") if here.leader else nullcontext()


def main() -> None:
    import signal

    from ..compute import quiet_waits

    quiet_waits()  # before torch loads (see bsf_engine/compute.py)
    # SIGTERM (a cancel, a closing session) stops like Ctrl-C: atomic writes leave no
    # partial file, and finished batches/epochs are kept for the rerun to resume from.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        app()
    except KeyboardInterrupt:  # outside any command body (e.g. while importing)
        sys.exit(EXIT_INTERRUPTED)
