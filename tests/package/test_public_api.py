"""The curated public API: every exported name resolves, and the list stays sorted."""

from __future__ import annotations

import subprocess
import sys

import drafter


def test_all_is_sorted_and_resolves() -> None:
    assert drafter.__all__ == sorted(drafter.__all__)
    for name in drafter.__all__:
        assert getattr(drafter, name) is not None, name


def test_unknown_attribute_raises() -> None:
    try:
        drafter.nope  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_importing_the_package_is_cheap() -> None:
    code = "import drafter, sys; print('markdown_it' in sys.modules, 'pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_all_matches_the_lazy_export_table() -> None:
    assert sorted(drafter._EXPORTS) == drafter.__all__
