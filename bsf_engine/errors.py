"""Errors a user can fix.

A `BsfError` carries a message that is printed as one line (or one line per
problem) without a traceback; the CLI exits with `exit_code`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class BsfError(Exception):
    """A problem with the user's input or environment, described so it can be fixed."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems else [message]


class ConfigError(BsfError):
    """project.toml is malformed or inconsistent; `problems` holds one line per issue."""


class MissingArtifactError(BsfError):
    """An earlier stage's output is missing or was made from a different config."""


class DataError(BsfError):
    """A dataset is missing, incomplete or in an unexpected format."""


class ResourceError(BsfError):
    """A setting asks for more memory than the machine has free (refused before starting)."""


class DivergedError(BsfError):
    """Training produced a non-finite loss: a setting (the learning rate) is too high."""


class ArtifactExistsError(BsfError):
    """Refusing to overwrite something already computed."""


class Interrupted(Exception):
    """A stage was asked to stop (Ctrl-C, SIGTERM) and stopped at a safe boundary."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


# how problems name values and suggest fixes -----------------------------------------
def toml_repr(value: Any) -> str:
    """A value as it would be written in TOML (for messages)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_repr(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{...}"
    return repr(value)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
