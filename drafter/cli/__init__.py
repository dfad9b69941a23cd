"""drafter's command line: a thin Typer layer over the library.

Each command group lives in its own module and registers on the shared :data:`app`.
"""

from __future__ import annotations

import gc

from drafter.cli import batch as _batch  # noqa: F401
from drafter.cli import eval as _eval  # noqa: F401
from drafter.cli import fetch as _fetch  # noqa: F401
from drafter.cli import from_issue as _from_issue  # noqa: F401
from drafter.cli import models as _models  # noqa: F401
from drafter.cli import project as _project  # noqa: F401
from drafter.cli import prompts as _prompts  # noqa: F401
from drafter.cli import review as _review  # noqa: F401
from drafter.cli import templates as _templates  # noqa: F401
from drafter.cli import validate as _validate  # noqa: F401  (registers commands)
from drafter.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    finally:
        # The command is done; what is left is the interpreter tearing down its modules. Freezing
        # the collector first spares it from tracing every object of the model stack (openai,
        # pydantic) on the way out: about 0.25 s per process, when it has drafted with a model.
        gc.freeze()
