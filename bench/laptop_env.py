"""Run Snakemake in a benchmark as it runs on a laptop, and say what that leaves out.

Snakemake's SLURM executor plugin (installed with medflow) runs `scontrol show config` whenever
Snakemake starts. Where a SLURM client is installed but no controller answers (this bench machine:
the SLURM test cluster is down between tests), that call waits about 9 s before failing, on every
run. Benchmarks run the workflow with `scontrol` hidden, as on a machine without SLURM or with a live
controller, and name the probe's own cost (slurm_probe_seconds) in their notes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path


def without_scontrol(work: Path) -> dict[str, str]:
    """The environment with `scontrol` answering 'no SLURM' at once (see this module's docstring)."""
    shim = work / "no-slurm"
    shim.mkdir(exist_ok=True)
    (shim / "scontrol").write_text("#!/bin/sh\nexit 1\n")
    (shim / "scontrol").chmod(0o755)
    return {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}


def slurm_probe_seconds() -> float | None:
    """What `scontrol show config` costs here (None: no scontrol), as the plugin calls it."""
    if shutil.which("scontrol") is None:
        return None
    start = time.perf_counter()
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(["scontrol", "show", "config"], capture_output=True, timeout=10)
    return time.perf_counter() - start
