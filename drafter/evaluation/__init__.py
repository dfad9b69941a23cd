"""The implementation of ``drafter eval``, one module per concern; :mod:`drafter.eval` is its public face.

Import order, lowest first (each module imports only those before it): ``metrics`` (what is
measured, and reading a draft's text), ``scores`` (one draft's scorecard), ``judge`` (the LLM
judge), ``runs`` (variants, whole runs, saving and loading), ``compare`` (against a baseline),
``report`` (tables and JSON).
"""
