"""Sizes as people read them in purrflow's messages: `1 GiB`, `512 KiB`, `2.0 MiB (2097166 bytes)`."""

from __future__ import annotations

_UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def describe_size(size: int) -> str:
    """A whole unit as it is; anything else to one decimal, with the exact count of bytes."""
    for unit, scale in _UNITS:
        if size >= scale:
            return f"{size // scale} {unit}" if size % scale == 0 else f"{size / scale:.1f} {unit} ({size} bytes)"
    return f"{size} bytes"
