"""Cheap checks of the zip-based artifacts (torch.save files, .npz) without loading them.

`bsf status` and the TUI (which polls) must tell a whole artifact from a truncated or
empty one, and a checkpoint of the project's network from one copied in from another,
without importing torch or reading hundreds of MB:

- a zip archive keeps its central directory at its end, so a truncated or empty file
  fails to open (`members`);
- torch.save writes `<name>/data.pkl` (the pickled object; tensors are references to
  the other members), so the plain values a checkpoint holds next to its weights — its
  `spec`, its `stamp` — are read from that small member alone (`torch_header`), with
  every class the pickle names replaced by an inert stand-in: nothing in it runs;
- an .npy member starts with a header holding its shape (`npy_shape`).

Every failure is a `DataError` naming the file; results are remembered while the file's
inode, size and mtime stay the same (artifacts are replaced by rename).
"""

from __future__ import annotations

import ast
import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

from .errors import DataError

_CACHE: dict[tuple, Any] = {}


def _cached(path: Path, what: str, compute):
    stat = Path(path).stat()
    key = (what, str(Path(path).resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _CACHE:
        if len(_CACHE) > 1024:
            _CACHE.clear()
        _CACHE[key] = compute()
    return _CACHE[key]


def _unreadable(path: Path, why: str) -> DataError:
    return DataError(f"{path}: {why}")


def members(path: Path) -> list[str]:
    """The names in a zip archive, or a DataError (missing, empty, truncated, not a zip)."""

    def compute() -> list[str]:
        try:
            with zipfile.ZipFile(path) as archive:
                return archive.namelist()
        except zipfile.BadZipFile:
            size = Path(path).stat().st_size
            why = "empty" if size == 0 else "truncated or not a zip archive"
            raise _unreadable(path, f"unreadable ({why}, {size} bytes)") from None
        except OSError as exc:
            raise _unreadable(path, f"unreadable ({exc.strerror or exc})") from None

    try:
        return _cached(path, "members", compute)
    except FileNotFoundError:
        raise _unreadable(path, "missing") from None


class _Inert:
    """What every class or function a checkpoint's pickle names becomes: accepts any
    arguments and any state, does nothing."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _Inert:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> _Inert:
        return _Inert()


_SAFE = {("collections", "OrderedDict"): collections.OrderedDict}


class _HeaderUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return _SAFE.get((module, name), _Inert)

    def persistent_load(self, pid: Any) -> Any:  # a tensor's storage: not read
        return _Inert()


def torch_header(path: Path) -> dict[str, Any]:
    """The top-level dict a torch.save file holds, tensors replaced by stand-ins (so only
    its plain values — dicts, lists, strings, numbers — mean anything)."""

    def compute() -> dict[str, Any]:
        names = members(path)
        pickles = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
        if not pickles:
            raise _unreadable(path, "unreadable (not a torch.save file: no data.pkl)")
        try:
            with zipfile.ZipFile(path) as archive:
                data = archive.read(pickles[0])
            value = _HeaderUnpickler(io.BytesIO(data)).load()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise _unreadable(path, f"unreadable ({exc.__class__.__name__})") from None
        except Exception as exc:  # whatever a damaged pickle stream raises
            raise _unreadable(path, f"unreadable (data.pkl: {exc.__class__.__name__})") from None
        if not isinstance(value, dict):
            raise _unreadable(path, "unreadable (does not hold a dict)")
        return value

    return _cached(path, "torch", compute)


def npy_shape(path: Path, key: str) -> tuple[int, ...]:
    """The shape of array `key` in an .npz, from its .npy header alone."""

    def compute() -> tuple[int, ...]:
        member = f"{key}.npy"
        if member not in members(path):
            raise _unreadable(path, f"unreadable (no {key!r} array)")
        try:
            with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
                head = handle.read(12)
                if head[:6] != b"\x93NUMPY":
                    raise ValueError("no .npy magic")
                if head[6] == 1:
                    size, start = struct.unpack("<H", head[8:10])[0], 10
                else:
                    size, start = struct.unpack("<I", head[8:12])[0], 12
                text = (head[start:] + handle.read(size - (len(head) - start))).decode("latin1")
            shape = ast.literal_eval(text)["shape"]
            return tuple(int(n) for n in shape)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise _unreadable(path, f"unreadable ({exc.__class__.__name__})") from None
        except (ValueError, SyntaxError, KeyError, TypeError, struct.error, IndexError):
            raise _unreadable(path, f"unreadable (array {key!r} has no readable header)") from None

    return _cached(path, f"npy:{key}", compute)
