"""Who drafter is: its distribution name and version, for ``--version``, provenance and trackers.

The package index already has an unrelated ``drafter``, so the distribution is ``design-drafter``
while the command and the import package stay ``drafter``. Every place that asks the installed
metadata for the version goes through :func:`version`, so the name is written once.
"""

from __future__ import annotations

import functools

DISTRIBUTION = "design-drafter"


@functools.cache
def version() -> str:
    """The installed version, or ``0`` in a bare checkout (a metadata lookup costs ~2 ms)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as metadata_version

    try:
        return metadata_version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0"


def user_agent() -> str:
    """``design-drafter/VERSION``: names the tool in a tracker's logs. The project has no public
    home yet, so the user agent carries no URL."""
    return f"{DISTRIBUTION}/{version()}"
