"""``drafter eval`` as a library: draft a fixed issue set with several variants and score the drafts.

Usage::

    cases = [EvalCase(src, load_source(src, SourceSettings())) for src in sources]
    variants = make_variants([resolve_model("offline", {})], [None])
    run = run_eval(cases, variants, load_outline(), EvalSettings())
    print(render_report(run, compare(run, load_run(Path("baseline.json"))), "markdown"))

A *variant* is one model with one prompt folder; several ``--model`` and ``--prompts`` give their
product. Every draft gets deterministic metrics (:func:`measure`): structure findings by rule, TODO
markers, words per section against length budgets, invented references and identifiers (in the
draft, not in the inputs), coverage of the issue's salient terms, comments cited in provenance,
tokens, calls, estimated cost and time. An optional LLM judge scores clarity, completeness and
faithfulness per section, ``repeat`` times, and reports the spread. :func:`compare` checks a run
against a saved one metric by metric, each with a direction and a threshold, so that a prompt
change can be gated in CI.

One module per concern; this package re-exports what the CLI and library users need.

Import order, lowest first (each module imports only those before it): ``metrics`` (what is
measured, and reading a draft's text), ``scores`` (one draft's scorecard), ``judge`` (the LLM
judge), ``runs`` (variants, whole runs, saving and loading), ``compare`` (against a baseline),
``report`` (tables and JSON).
"""

from __future__ import annotations

from drafter.evaluation.compare import compare, unmatched_variants
from drafter.evaluation.judge import run_judge
from drafter.evaluation.metrics import coverage, parse_thresholds, salient_terms, section_words
from drafter.evaluation.report import delta_rows, render_report, summary_rows
from drafter.evaluation.runs import (
    EVAL_SCHEMA,
    EvalCase,
    EvalRun,
    EvalSettings,
    Variant,
    VariantRun,
    load_run,
    make_variants,
    run_eval,
    save_run,
)
from drafter.evaluation.scores import measure

__all__ = [
    "EVAL_SCHEMA",
    "EvalCase",
    "EvalRun",
    "EvalSettings",
    "Variant",
    "VariantRun",
    "compare",
    "coverage",
    "delta_rows",
    "load_run",
    "make_variants",
    "measure",
    "parse_thresholds",
    "render_report",
    "run_eval",
    "run_judge",
    "salient_terms",
    "save_run",
    "section_words",
    "summary_rows",
    "unmatched_variants",
]
