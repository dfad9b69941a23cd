"""The template as the single source of truth: outline, markdown parsing, the validator, reading
documents, finding resources, prompts and scaffolding. ``drafter validate`` imports only this."""
