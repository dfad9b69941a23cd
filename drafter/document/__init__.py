"""The draft as text: section content, rendering, provenance and state, regions, merging, and
safe writes (atomic, locked, redacted)."""
