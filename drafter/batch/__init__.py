"""Many issues at once: the runner, the OpenAI Batch API path, the reports, and stopping cleanly.

Public names for library users are re-exported from :mod:`drafter.batch.runner`.
"""

from drafter.batch.runner import STATUSES, BatchItem, BatchOptions, BatchRun, run_batch, run_batch_async

__all__ = ["STATUSES", "BatchItem", "BatchOptions", "BatchRun", "run_batch", "run_batch_async"]
