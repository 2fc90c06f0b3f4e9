"""The manifest of a simulated split (spikes/<split>/manifest.json): the half of bsf's
spike layout that is plain JSON, readable without numpy, so `bsf status` can tell a
finished simulation from a partial or broken one cheaply. The batch files are store.py's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import atomic, layout
from ..errors import DataError
from ..layout import MANIFEST

FORMAT = "bsf-spikes"
VERSION = 1


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    redo = f"delete the folder's {MANIFEST} and rerun `bsf simulate --overwrite`"
    manifest = layout.read_json(path, redo)
    if manifest.get("format") != FORMAT:
        raise DataError(f"{path}: not a bsf spike manifest")
    if manifest.get("version") != VERSION:
        raise DataError(
            f"{path}: spike format version {manifest.get('version')}; this bsf "
            f"reads version {VERSION} (rerun `bsf simulate --overwrite`)"
        )
    return manifest


def broken_batches(folder: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Batches the manifest lists whose file is gone or of another size (cheap: checksums
    are verified when a batch is read)."""
    broken = []
    for entry in manifest.get("batches", []):
        try:
            size = (Path(folder) / str(entry.get("file"))).stat().st_size
        except OSError:
            broken.append(entry)
            continue
        if entry.get("bytes") is not None and size != entry["bytes"]:
            broken.append(entry)
    return broken


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    atomic.write_json(folder / MANIFEST, manifest)
