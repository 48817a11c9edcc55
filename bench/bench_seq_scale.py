"""Sequences at scale: wall time and peak memory of the whole branch, dense and sparse, vs MMseqs2.

For N = 1k, 2k, 3k, 10k, 30k domains drawn (seeded) from ../shared/data/sequences/pfam_scale_60fam
(29,384 Pfam domains of 60 families; generated families when that data set is absent, and the rows
say so), the sequence branch runs end to end through Snakemake on 2 cores: the dense path (all
pairs; up to DENSE_MAX, beyond it takes half an hour and ~20 GB) and the sparse path (forced with
sequences.alignment.sparse_above = 1), beside MMseqs2 easy-cluster (defaults) on the same FASTA.
Each row gives wall time (up to REPEAT_MAX sequences the median of REPEATS interleaved runs of
each tool, since the machine's noise is as large as the differences there), the peak resident
memory of the largest process, cluster count and ARI against the known families. With the
defaults, N up to sequences.alignment.sparse_above (1,000) takes the dense path and larger N the
sparse one. A log-log plot of time against N goes to bench/seq_scale.png.

Snakemake runs with `scontrol` hidden, as on a laptop (bench/laptop_env.py says why); the SLURM
probe's own cost is measured once and named in the rows' notes.

    python bench/bench_seq_scale.py [--sizes 1000 2000 3000 10000 30000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO / "scripts")]
from bench_clustering_peers import ensure_peers, generated, score  # noqa: E402
from laptop_env import slurm_probe_seconds, without_scontrol  # noqa: E402

from medflow.sequences.io import read_fasta, write_fasta  # noqa: E402

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
THREADS = 2
SCALE = REPO.parent / "shared" / "data" / "sequences" / "pfam_scale_60fam"
SIZES = (1000, 2000, 3000, 10000, 30000)
QUICK_SIZES = (300,)
DENSE_MAX = 10000
# Up to REPEAT_MAX sequences a run takes seconds and the machine's noise (+-20% here) is as large as
# the differences: each tool runs REPEATS times, interleaved, and the row gives the median.
REPEATS = 3
REPEAT_MAX = 3000
PLOT = BENCH / "seq_scale.png"
# Runs a command and prints the peak resident memory (kB) of its largest process to stderr.
PEAK = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print('peak_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def measured(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak GB of the largest process) of a command; raises if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, *cmd], cwd=cwd, capture_output=True, text=True, env=env
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    peak = [line for line in proc.stderr.splitlines() if line.startswith("peak_kb")][-1]
    return seconds, int(peak.split()[1]) / 1e6


def subsample(fasta: Path, labels: Path, n: int, work: Path) -> tuple[Path, Path]:
    """n records drawn without replacement (seed 0), in file order, and their labels."""
    records = read_fasta(fasta)
    keep = np.sort(np.random.default_rng(0).choice(len(records), min(n, len(records)), False))
    out, table = work / f"n{n}.fasta", work / f"n{n}_groups.tsv"
    write_fasta(out, ((records[k].id, records[k].seq) for k in keep))
    groups = pd.read_csv(labels, sep="\t", dtype=str).set_index("id")["group"]
    ids = [records[k].id for k in keep]
    pd.DataFrame({"id": ids, "group": groups.reindex(ids).values}).to_csv(
        table, sep="\t", index=False
    )
    return out, table


def run_workflow(fasta: Path, labels: Path, work: Path, path: str) -> dict:
    """The sequence branch alone on one FASTA, dense or sparse: seconds, peak GB, ARI, clusters.

    The workflow runs without the labels table, as a user's would (with it, clustering would also
    import scikit-learn to score itself); its assignments are scored afterwards, over the records
    that passed QC, as the summary would, and outside the timing, as MMseqs2's are.
    """
    sequences = {"fasta": [str(fasta)]}
    sequences["alignment"] = {"sparse_above": 1_000_000 if path == "dense" else 2}
    config = {"molecules": {"enabled": False}, "imaging": {"enabled": False}}
    override = work / f"{fasta.stem}-{path}.yaml"
    override.write_text(yaml.safe_dump({**config, "sequences": sequences}))
    workdir = work / f"{fasta.stem}-{path}"
    shutil.rmtree(workdir, ignore_errors=True)  # every run from scratch, repeats included
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--configfile", str(REPO / "config.yaml"), str(override)]
    env = without_scontrol(work)
    seconds, peak = measured([*cmd, "--cores", str(THREADS), "--quiet"], work, env)
    summary = json.loads((workdir / "results" / "sequences" / "summary.json").read_text())
    table = pd.read_csv(workdir / "results" / "sequences" / "assignments.tsv", sep="\t", dtype=str)
    found = table.set_index("id")["cluster"]
    truth = pd.read_csv(labels, sep="\t", dtype=str).set_index("id")["group"].reindex(found.index)
    return {
        "seconds": seconds,
        "peak_gb": peak,
        "ari": score(truth, found)["ari"],
        "clusters": summary["clusters"],
    }


def run_mmseqs(fasta: Path, labels: Path, work: Path) -> dict:
    prefix = work / f"{fasta.stem}-mmseqs"
    shutil.rmtree(work / f"tmp-{prefix.name}", ignore_errors=True)
    cmd = ["mmseqs", "easy-cluster", str(fasta), str(prefix), str(work / f"tmp-{prefix.name}")]
    seconds, peak = measured([*cmd, "--threads", str(THREADS), "-v", "1"], work)
    table = pd.read_csv(f"{prefix}_cluster.tsv", sep="\t", header=None, names=["rep", "member"])
    truth = pd.read_csv(labels, sep="\t", dtype=str).set_index("id")["group"]
    facts = score(truth, table.set_index("member")["rep"].astype(str))
    return {"seconds": seconds, "peak_gb": peak, "ari": facts["ari"], "clusters": facts["clusters"]}


def median_run(runs: list[dict]) -> dict:
    """One tool's runs at one N as one entry: the median wall time, the largest peak memory, the
    rest (ARI, clusters: the same every run) from the first; and how many runs."""
    seconds = sorted(run["seconds"] for run in runs)[len(runs) // 2]
    peak = max(run["peak_gb"] for run in runs)
    return {**runs[0], "seconds": seconds, "peak_gb": peak, "runs": len(runs)}


def measure(sizes: tuple[int, ...], quick: bool) -> tuple[list[dict], str]:
    """One entry per (N, tool) that ran, and the data set's name."""
    why_not = ensure_peers()
    probe = slurm_probe_seconds()
    results = []
    with tempfile.TemporaryDirectory(prefix="medflow-scale-") as tmp:
        work = Path(tmp)
        if SCALE.with_suffix(".fasta").is_file() and not quick:
            fasta, labels = SCALE.with_suffix(".fasta"), Path(f"{SCALE}_groups.tsv")
            data = "Pfam pfam_scale_60fam"
        else:
            fasta, labels, data = generated(work, quick)
            data += " (../shared/data absent or --quick)" if not quick else " (--quick)"
        for n in sizes:
            sub, sub_labels = subsample(fasta, labels, n, work)
            tools = ["sparse"] + (["dense"] if n <= DENSE_MAX else [])
            tools += [] if why_not else ["mmseqs2 easy-cluster"]
            runs: dict[str, list[dict]] = {tool: [] for tool in tools}
            for _ in range(REPEATS if n <= REPEAT_MAX else 1):
                for tool in tools:  # interleaved, so a slow spell of the machine hits every tool
                    if tool.startswith("mmseqs2"):
                        runs[tool].append(run_mmseqs(sub, sub_labels, work))
                    else:
                        runs[tool].append(run_workflow(sub, sub_labels, work, tool))
            for tool, facts in runs.items():
                facts = {"n": len(read_fasta(sub)), "tool": tool, **median_run(facts)}
                print(json.dumps(facts), flush=True)
                results.append(facts)
    if probe is not None and probe > 1:
        data += f"; scontrol hidden from Snakemake (its SLURM probe costs {probe:.1f} s here)"
    return results, data + (f"; MMseqs2 absent: {why_not}" if why_not else "")


def plot(results: list[dict], data: str, path: Path = PLOT) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for tool in dict.fromkeys(r["tool"] for r in results):
        rows = [r for r in results if r["tool"] == tool]
        ax.loglog([r["n"] for r in rows], [r["seconds"] for r in rows], "o-", label=tool)
    ax.set_xlabel("sequences")
    ax.set_ylabel("wall time (s), 2 cores")
    ax.set_title(data, fontsize=8)
    ax.legend()
    fig.savefig(path, dpi=120, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def rows_of(results: list[dict], data: str) -> list[dict]:
    """Rows for bench/run_all.py: each medflow path against MMseqs2 at the same N."""
    by = {(r["n"], r["tool"]): r for r in results}
    rows = []
    for (n, tool), ours in by.items():
        if tool == "mmseqs2 easy-cluster":
            continue
        peer = by.get((n, "mmseqs2 easy-cluster"))
        notes = (
            f"{data}; "
            + (f"median of {ours['runs']} interleaved runs each; " if ours["runs"] > 1 else "")
            + f"medflow {tool}: {ours['peak_gb']:.2f} GB peak, ARI {ours['ari']:.3f}, "
            f"{ours['clusters']} clusters"
        )
        if peer:
            notes += (
                f"; MMseqs2: {peer['peak_gb']:.2f} GB peak, ARI {peer['ari']:.3f}, "
                f"{peer['clusters']} clusters"
            )
        rows.append(
            {
                "benchmark": f"sequence branch end to end, N = {n}, {tool} path",
                "unit": "s wall (lower is better)",
                "workflow": round(ours["seconds"], 1),
                "baseline": round(peer["seconds"], 1) if peer else float("nan"),
                "baseline_name": "mmseqs2 easy-cluster (defaults)" if peer else "none",
                "notes": notes,
            }
        )
    return rows


def run(quick: bool = False) -> list[dict]:
    results, data = measure(QUICK_SIZES if quick else SIZES, quick)
    if not quick:
        plot(results, data)
    return rows_of(results, data)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--quick", action="store_true", help="300 generated sequences")
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else tuple(args.sizes)
    results, data = measure(sizes, args.quick)
    print(f"data: {data}")
    print(f"{'N':>6} {'tool':22} {'wall s':>8} {'peak GB':>8} {'ARI':>6} {'clusters':>8}")
    for r in results:
        print(
            f"{r['n']:6d} {r['tool']:22} {r['seconds']:8.1f} {r['peak_gb']:8.2f} "
            f"{r['ari']:6.3f} {r['clusters']:8d}"
        )
    if not args.quick:
        plot(results, data)
        print(f"plot: {PLOT}")


if __name__ == "__main__":
    main()
