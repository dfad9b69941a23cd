"""The review page in a real browser: headless Chromium driven by Playwright.

Chromium comes from the OS package (``apt-get install -y chromium``; ``.ci/run`` installs it),
never from Playwright's own download. Without it, or without Playwright, these tests are skipped
with the reason shown (``-rs``) and the rest of the suite runs as usual; under ``.ci/run``
(``DRAFTER_BROWSER_TESTS=required``) they fail instead. ``DRAFTER_CHROMIUM`` names another
Chromium binary.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app

pytestmark = pytest.mark.browser

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
ISSUES = ("brettwooldridge__HikariCP__664", "golang__go__36189", "rust-lang__cargo__10497")
INJECTED = "<img src=x onerror=\"document.title='pwned';alert(1)\"><script>alert(2)</script>"
# Read when the module loads: every test runs with the DRAFTER_* variables removed (conftest).
REQUIRED = os.environ.get("DRAFTER_BROWSER_TESTS") == "required"
NAMED = os.environ.get("DRAFTER_CHROMIUM", "").strip()
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str | None:
    if NAMED:
        return NAMED if Path(NAMED).is_file() else None
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


@pytest.fixture(scope="module")
def browser(page_file: Path) -> Iterator[Any]:
    """Started after the page is built: Playwright's driver holds an event loop in this thread,
    and drafting runs its own (``asyncio.run`` refuses to nest)."""
    # CI (.ci/run) sets DRAFTER_BROWSER_TESTS=required: there a missing browser fails the run.
    missing = pytest.fail if REQUIRED else pytest.skip
    binary = chromium()
    if binary is None:
        missing(
            "no Chromium found (apt-get install -y chromium, or set DRAFTER_CHROMIUM): browser tests skipped"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed (pip install -e '.[dev]'): browser tests skipped")
    assert binary is not None
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=binary, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The review page of three corpus drafts, one of them with a title that tries to run code."""
    folder = tmp_path_factory.mktemp("review")
    runner = CliRunner()
    for number, name in enumerate(ISSUES):
        data = json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))
        if number == 0:
            data["title"] = f"Null PoolEntry {INJECTED}"
            data["body"] = f"{INJECTED}\n\n{data['body']}"
        source = folder / f"{name}.json"
        source.write_text(json.dumps(data), encoding="utf-8")
        result = runner.invoke(
            app,
            [
                "from-issue",
                str(source),
                "--model",
                "offline",
                "--author",
                "Ada",
                "--out-dir",
                str(folder / "docs"),
            ],
        )
        assert result.exit_code == 0, result.stderr
    # A human adds a table wider than any window to one draft: it scrolls inside its section.
    wide = sorted((folder / "docs").glob("*golang*.md"))[0]
    table = "| " + " | ".join(f"column {n}" for n in range(30)) + " |\n" + "|---" * 30 + "|\n"
    text = wide.read_text(encoding="utf-8")
    wide.write_text(text.replace("### 1.1 Context\n", f"### 1.1 Context\n\n{table}\n", 1), encoding="utf-8")
    out = folder / "review.html"
    result = runner.invoke(
        app, ["review", str(folder / "docs"), "--model", "offline", "-f", "html", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture
def page(browser: Any, page_file: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(page_file.as_uri())
    yield tab
    context.close()


def rows(page: Any) -> list[str]:
    return [
        str(t) for t in page.locator("#overview tbody tr").evaluate_all("rs => rs.map(r => r.dataset.anchor)")
    ]


def column(page: Any, index: int) -> list[float]:
    script = f"rs => rs.map(r => parseFloat(r.cells[{index}].dataset.sort))"
    return [float(v) for v in page.locator("#overview tbody tr").evaluate_all(script)]


def test_the_overview_lists_every_draft(page: Any) -> None:
    assert rows(page) == ["draft-1", "draft-2", "draft-3"]
    titles = page.locator("#overview tbody tr td:first-child a").all_inner_texts()
    assert len(titles) == 3 and any("golang" in t or "panic" in t for t in titles)
    assert page.locator("article.draft").count() == 3


def test_an_injected_script_does_not_run(page: Any) -> None:
    assert page.title() == "drafter review: 3 drafts"
    assert page.dialogs == []
    # The hostile title is on the page as text.
    assert "onerror=" in page.locator("#overview tbody").inner_text()
    assert page.locator("main img").count() == 0 and page.locator("script").count() == 1


def test_sorting_by_a_column_and_back(page: Any) -> None:
    header = page.locator("#overview thead th").nth(4)  # Warnings
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    ascending = column(page, 4)
    assert ascending == sorted(ascending)
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert column(page, 4) == sorted(ascending, reverse=True)


def test_folding_a_draft_and_a_section(page: Any) -> None:
    first = page.locator("article.draft").first
    section_body = first.locator("div.section .body").nth(1)
    assert section_body.is_visible()
    first.locator("summary").first.click()  # fold the whole draft
    assert not section_body.is_visible()
    page.get_by_role("button", name="Expand all").click()
    assert section_body.is_visible()
    page.get_by_role("button", name="Collapse all").click()
    assert not section_body.is_visible()
    # The overview's link opens the folded draft it points at.
    page.locator("#overview tbody tr").first.locator("a").first.click()
    assert page.locator("#draft-1").evaluate("d => d.open")


def test_filtering_hides_rows_and_drafts(page: Any) -> None:
    page.fill("#filter", "panic")
    visible = page.locator("#overview tbody tr:visible")
    assert visible.count() == 1
    assert page.locator("article.draft:visible").count() == 1
    assert page.locator("#shown").inner_text() == "1 of 3 drafts shown"


def test_the_keyboard_reaches_the_sort_buttons(page: Any) -> None:
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('thead') !== null"):
            break
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"
    page.keyboard.press("Enter")
    assert page.locator("#overview thead th").first.get_attribute("aria-sort") == "ascending"


def test_readable_without_scripts(browser: Any, page_file: Path) -> None:
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    tab.goto(page_file.as_uri())
    assert tab.locator("#overview tbody tr").count() == 3
    assert not tab.locator("#tools").is_visible()  # no controls that would do nothing
    assert tab.locator("article.draft div.section .body").first.is_visible()
    context.close()


def contrast(page: Any, selector: str) -> float:
    """WCAG contrast ratio of an element's text colour against the page background."""
    return float(
        page.evaluate(
            """sel => {
                const rgb = s => s.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
                const lum = c => { const [r, g, b] = c.map(v => { v /= 255;
                    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
                    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
                const fg = lum(rgb(getComputedStyle(document.querySelector(sel)).color));
                const bg = lum(rgb(getComputedStyle(document.body).backgroundColor));
                return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
            }""",
            selector,
        )
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_contrast_in_both_colour_schemes(browser: Any, page_file: Path, scheme: str) -> None:
    context = browser.new_context(color_scheme=scheme)
    tab = context.new_page()
    tab.goto(page_file.as_uri())
    background = tab.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(255, 255, 255)") == (scheme == "light")
    for selector in ("body", ".path", "#overview a", ".fix", "blockquote"):
        assert contrast(tab, selector) >= 4.5, selector
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_screenshot_at_desktop_and_phone_width(
    browser: Any, page_file: Path, tmp_path: Path, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    tab.goto(page_file.as_uri())
    shot = tmp_path / f"review-{width}.png"
    tab.screenshot(path=str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 5_000
    # Nothing wider than the window: the table turns into cards on a phone.
    assert tab.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
