"""Resource requests that grow with the attempt, so `--retries` gives a failed job more.

Used by the rules (through workflow/rules/common.smk) and by the SLURM tests' toy workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def scaled_mem_mb(base_mb: float) -> Callable[[Any, int], int]:
    """Memory (MB) that grows with the attempt: an out-of-memory job gets more on its retry."""

    def mem_mb(wildcards: Any, attempt: int) -> int:
        return int(base_mb * attempt)

    return mem_mb


def scaled_runtime(base_minutes: float) -> Callable[[Any, int], int]:
    """Wall-time limit (minutes) that grows with the attempt, for schedulers such as SLURM."""

    def runtime(wildcards: Any, attempt: int) -> int:
        return int(base_minutes * attempt)

    return runtime
