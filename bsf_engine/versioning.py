"""What made an artifact: the config hash of its stage and the code version."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
from pathlib import Path

from . import __version__


@functools.cache
def code_version() -> str:
    """Package version plus a short hash of the engine's sources (changes with any edit)."""
    digest = hashlib.sha256()
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def stamp(stage: str, config_hash: str) -> dict[str, str]:
    return {
        "stage": stage,
        "config_hash": config_hash,
        "bsf_version": __version__,
        "code_version": code_version(),
        "created": now_iso(),
    }


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (how a stage records which inputs it was made from)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


_DIGESTS: dict[tuple, str] = {}


def file_digest_cached(path: Path) -> str:
    """`file_digest`, remembered while the file's inode, size and mtime stay the same.

    `bsf status` and the TUI (which polls every few seconds) compare the digests of
    ann.pt, snn.pt and friends — up to hundreds of MB — with what later stages recorded;
    artifacts are replaced by rename, so a changed file is a new inode.
    """
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        if len(_DIGESTS) > 4096:
            _DIGESTS.clear()
        _DIGESTS[key] = file_digest(path)
    return _DIGESTS[key]
