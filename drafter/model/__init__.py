"""The model port (:mod:`~drafter.model.handle`), the OpenAI-compatible adapter (the only module
that imports ``openai``), call tracing, usage metering and prices."""
