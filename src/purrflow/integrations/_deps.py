"""Integrations' libraries are an extra (`purrflow[integrations]`): say so when one is missing."""

from __future__ import annotations


def missing(package: str, err: ImportError) -> ImportError:
    """An ImportError that names the pip command, raised `from` the original one."""
    return ImportError(
        f"{err} — the {package} client is part of purrflow's integrations extra: pip install 'purrflow[integrations]'"
    )
