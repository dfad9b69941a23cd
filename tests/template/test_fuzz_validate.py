"""Property tests: random markdown never crashes the validator or the template parser.

Documents are assembled from markdown building blocks (headings with template titles, metadata
lines, lists, ragged tables, unclosed fences and comments, emphasis, placeholders) joined by
random newlines, so that the generator reaches the validator's branches rather than only
producing paragraphs of noise.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drafter.errors import TemplateError
from drafter.template.findings import RULES
from drafter.template.outline import Outline, load_outline, parse_template
from drafter.template.validate import validate_text
from tests.support.paths import DOCS

OUTLINES: list[Outline] = [
    load_outline(spec)
    for spec in (
        "technical-design",
        "rfc",
        "adr",
        str(DOCS / "kep-template.md"),
        str(DOCS / "rust-rfc-template.md"),
    )
]
TITLES = sorted(
    {s.raw_title for o in OUTLINES for s in o.walk()} | {s.title for o in OUTLINES for s in o.walk()}
)
FIELDS = sorted({f.name for o in OUTLINES for f in o.metadata})
PLACEHOLDERS = sorted(set().union(*(o.all_placeholders() for o in OUTLINES)) | {"...", "…", "TODO"})

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# Any unicode except NUL (readers reject it) and lone surrogates (not encodable as UTF-8).
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
word = st.sampled_from(["Goals", "N/A", "TODO", "drafter:template", "|", "*", "`", "-", ":", "#", "Draft"])
inline = st.lists(st.one_of(text, word, st.sampled_from(PLACEHOLDERS)), max_size=4).map(" ".join)
title = st.one_of(st.sampled_from(TITLES), inline)


@st.composite
def heading(draw: st.DrawFn) -> str:
    level = draw(st.integers(1, 7))
    number = draw(st.sampled_from(["", "1. ", "2.3 ", "9.9.9 ", "1) "]))
    marker = draw(st.sampled_from(["", " (Optional)", " (if applicable)"]))
    if draw(st.booleans()):
        return f"{draw(title)}\n{draw(st.sampled_from(['===', '---']))}"
    return f"{'#' * level} {number}{draw(title)}{marker}"


@st.composite
def table(draw: st.DrawFn) -> str:
    columns = draw(st.integers(1, 4))
    header = draw(
        st.lists(
            st.sampled_from(["Component", "Change Type", "Description", "x", ""]),
            min_size=columns,
            max_size=columns,
        )
    )
    rows = draw(st.lists(st.lists(inline, max_size=6), max_size=4))  # ragged: any cell count
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * draw(st.integers(1, 5))]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


@st.composite
def fence(draw: st.DrawFn) -> str:
    mark = draw(st.sampled_from(["```", "~~~", "````"]))
    info = draw(st.sampled_from(["", "json", "rust", "text {x}"]))
    body = draw(st.lists(inline, max_size=3))
    close = draw(st.sampled_from([mark, "", "```"]))  # "" leaves the fence unclosed
    return "\n".join([mark + info, *body, close])


@st.composite
def metadata(draw: st.DrawFn) -> str:
    name = draw(st.one_of(st.sampled_from(FIELDS), text))
    value = draw(st.one_of(inline, st.sampled_from(["2025-01-31", "2025-02-30", "Approved", "[YYYY-MM-DD]"])))
    form = draw(
        st.sampled_from(
            ["> **{n}:** {v}", "**{n}:** {v}", "**{n}**: {v}", "- {n}: {v}", "- {n}: [{v}](https://x)"]
        )
    )
    return form.format(n=name, v=value)


block = st.one_of(
    heading(),
    inline,
    inline.map(lambda s: f"*{s}*"),
    inline.map(lambda s: f"**{s}** _{s}_"),
    st.lists(inline, min_size=1, max_size=4).map(lambda items: "\n".join(f"- {i}" for i in items)),
    st.lists(inline, min_size=1, max_size=4).map(
        lambda items: "\n".join(f"{n}. {i}" for n, i in enumerate(items, 1))
    ),
    inline.map(lambda s: f"- top\n  - {s}\n    1. {s}"),
    inline.map(lambda s: f"> {s}\n> - {s}"),
    table(),
    fence(),
    metadata(),
    inline.map(lambda s: f"<!-- {s} -->"),
    inline.map(lambda s: f"<!--\n{s}"),  # unclosed comment
    st.sampled_from(
        [
            "<!-- drafter:template rfc -->",
            "<!-- drafter:chain risks -->",
            "---",
            "<div>",
            "    indented code",
            "[ref]: #ref",
        ]
    ),
    st.sampled_from(["N/A", "Not applicable.", "TODO: fix", "..."]),
)
separator = st.sampled_from(["\n", "\n\n", "\r\n", "\r", "\n\n\n", "\u2028\n"])


@st.composite
def markdown(draw: st.DrawFn) -> str:
    blocks = draw(st.lists(block, max_size=14))
    out = ""
    for part in blocks:
        out += part + draw(separator)
    return out


def line_count(text: str) -> int:
    return text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1


@SETTINGS
@given(doc=markdown(), index=st.integers(0, len(OUTLINES) - 1), strict=st.booleans())
def test_validate_text_never_raises_and_lines_are_in_range(doc: str, index: int, strict: bool) -> None:
    report = validate_text(doc, OUTLINES[index], strict=strict)
    last = line_count(doc) + 1
    for finding in report.findings:
        assert 1 <= finding.line <= last, (finding, last)
        assert finding.rule in RULES
        assert finding.severity in ("error", "warning")
        assert finding.message and "\n" not in finding.message
    assert list(report.findings) == sorted(report.findings, key=lambda f: (f.line, f.rule))


@SETTINGS
@given(template=markdown(), doc=markdown())
def test_any_template_either_parses_or_raises_template_error(template: str, doc: str) -> None:
    try:
        outline = parse_template(template, "fuzz")
    except TemplateError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    report = validate_text(doc, outline)
    last = line_count(doc) + 1
    assert all(1 <= f.line <= last for f in report.findings)
    validate_text(template, outline)  # a template checked against itself must not crash either
