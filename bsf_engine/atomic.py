"""Atomic file writes: write to a temporary name in the same folder, then rename.

A reader never sees half a file, and a crash leaves either the old file or the
new one. Temporary files carry a `.tmp-` infix so they are easy to spot and clean.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .errors import BsfError

TMP_INFIX = ".tmp-"


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file; on success it replaces `path` atomically, on error it vanishes."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=target.name + TMP_INFIX, dir=target.parent)
    except OSError as exc:
        raise _unwritable(target, exc) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _unwritable(target, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _unwritable(target: Path, exc: OSError) -> BsfError:
    reason = exc.strerror or exc.__class__.__name__
    return BsfError(
        f"{target}: cannot write ({reason}); check the folder's permissions and free disk space "
        "(the previous version, if any, is untouched)"
    )


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path) as handle:
        handle.write(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_with(path: str | os.PathLike[str], writer: Callable[[BinaryIO], None]) -> None:
    """Atomically write whatever `writer(handle)` puts into a binary handle."""
    with atomic_open(path) as handle:
        writer(handle)


def save_torch(path: str | os.PathLike[str], obj: Any) -> None:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes(path, buffer.getvalue())


def remove_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete what interrupted atomic writes left in `folder` (only safe for its one writer)."""
    removed = []
    for path in Path(folder).glob(f"*{TMP_INFIX}*"):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed
