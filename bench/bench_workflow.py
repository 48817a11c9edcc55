"""Whole default workflow on this machine: wall time, and how much of it is Snakemake's own overhead.

Runs config.yaml (all branches, embedded examples) in a fresh folder with the local profile, then
reads each job's own wall time from the benchmark files Snakemake wrote. Snakemake's start-up and DAG
building are timed by a dry run of the same workflow in the same folder. Snakemake runs with `scontrol`
hidden, as on a laptop (bench/laptop_env.py says why).
"""

import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
sys.path.insert(0, str(BENCH))
from laptop_env import without_scontrol  # noqa: E402


def snakemake(workdir: Path, *extra: str) -> float:
    """Run snakemake on the default config in workdir; return its wall time in seconds."""
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--configfile", str(REPO / "config.yaml"), "--cores", "2", "--quiet", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=without_scontrol(workdir))
    return time.perf_counter() - start


def job_seconds(workdir: Path) -> float:
    """Sum of every job's wall time, from the benchmark: files the rules declare."""
    total = 0.0
    for path in (workdir / "benchmarks").rglob("*.tsv"):
        with open(path) as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        total += sum(float(row["s"]) for row in rows)
    return total


def run(quick: bool = False) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="medflow-bench-") as tmp:
        workdir = Path(tmp)
        dag_seconds = snakemake(workdir, "-n")
        wall = snakemake(workdir)
        steps = job_seconds(workdir)
    notes = (
        f"start-up + DAG (dry run): {dag_seconds:.1f} s = {100 * dag_seconds / wall:.0f}% of wall; "
        "jobs ran 2 at a time, so their summed time can exceed the wall time; Snakemake ran with "
        "scontrol hidden, as on a laptop (bench/laptop_env.py)"
    )
    return [
        {
            "benchmark": "default workflow, all branches, --cores 2",
            "unit": "s (lower is better)",
            "workflow": wall,
            "baseline": steps,
            "baseline_name": "sum of the jobs' own wall times",
            "notes": notes,
        }
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
