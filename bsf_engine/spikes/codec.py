"""Byte-level encoding of spike batches.

Head spikes [T, B, K] are stored neuron-major and bit-packed along time
([B, K, ⌈T/8⌉] uint8): each neuron's train is contiguous, so deflate sees its
regularity (≈0.3 of the reference's float32 npz on real IF trains, plus a
little for the per-layer counts). Per-population counts are stored as
differences along time, transposed ([L, T]), which deflate compresses best.

Files are ordinary .npz archives that `numpy.load` reads, written with fixed
zip timestamps so the same spikes always give the same bytes.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def pack_head(spikes: np.ndarray) -> np.ndarray:
    """bool/0-1 [T, B, K] → uint8 [B, K, ⌈T/8⌉]."""
    return np.packbits(np.ascontiguousarray(np.moveaxis(spikes, 0, -1)), axis=-1)


def unpack_head(packed: np.ndarray, timesteps: int) -> np.ndarray:
    """uint8 [B, K, ⌈T/8⌉] → bool [T, B, K] (a view in time-major order)."""
    bits = np.unpackbits(packed, axis=-1, count=timesteps).view(bool)
    return np.moveaxis(bits, -1, 0)


def encode_counts(counts: np.ndarray) -> np.ndarray:
    """int [T, L] → differences along time, [L, T]."""
    dtype = np.int32 if np.abs(counts).max(initial=0) < 2**30 else np.int64
    return np.ascontiguousarray(np.diff(counts.astype(np.int64), axis=0, prepend=0).T).astype(dtype)


def decode_counts(encoded: np.ndarray) -> np.ndarray:
    return np.cumsum(encoded.astype(np.int64), axis=1).T.copy()


def npz_bytes(arrays: dict[str, np.ndarray], level: int = 9) -> bytes:
    """An .npz archive as bytes: deflated, members in the given order, fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            array = np.asarray(array)
            if not array.flags.c_contiguous:
                array = np.ascontiguousarray(array)  # (would turn a 0-d array into 1-d)
            np.lib.format.write_array(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(
                info, member.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=level
            )
    return buffer.getvalue()
