"""Sequence-branch benchmark: all-vs-all alignment speed (GCUPS, pairs/s) and the clustering run.

In one run, on the same simulated protein domains (about 120 residues each):
- the workflow's alignment step (scripts/seq_align.py main(ctx): FASTA in, one block, .npy out) with
  2 threads, against raw pyopal (pyopal.align per query over a pyopal.Database, 2 threads, one
  reused thread pool) and raw Biopython (PairwiseAligner.score, on a subset: it is ~50x slower);
- the whole compute of the branch on 4,000 domains (~8M pairs): alignment + distances +
  clustering, against raw pyopal's alignment alone on the same pairs' cells.
GCUPS counts the dynamic-programming cells actually filled (len(a) * len(b) per pair scored).
"""

import json
import sys
import tempfile
import time
from multiprocessing.pool import ThreadPool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import pyopal
import seq_align
from Bio.Align import PairwiseAligner, substitution_matrices
from run_all import print_rows

from medflow.config import fill_and_validate
from medflow.sequences.cluster import significance_clusters, tree_of
from medflow.sequences.io import write_fasta
from medflow.sequences.simulate import simulate
from medflow.sequences.stats import distances, karlin_altschul, significant_pairs

THREADS = 2
GAPS = {"gap_open": 11, "gap_extend": 1}


def domains(n: int, seed: int = 42) -> list[str]:
    """n simulated protein domains in families of 20."""
    example = fill_and_validate({})["sequences"]["example"]
    example |= {"families": max(1, n // 20), "members": 20, "length": 120}
    records, _ = simulate(**example, seed=seed)
    return [seq for _, seq in records[:n]]


def workflow_step(seqs: list[str]) -> tuple[float, np.ndarray]:
    """Seconds of the workflow's alignment step on all pairs (one block), and its scores."""
    with tempfile.TemporaryDirectory() as tmp:
        fasta, summary, out = Path(tmp, "u.fasta"), Path(tmp, "qc.json"), Path(tmp, "b.npy")
        write_fasta(fasta, [(f"s{i}", s) for i, s in enumerate(seqs)])
        summary.write_text(json.dumps({"matrix": "BLOSUM62"}))
        ctx = seq_align.STEP.context(
            {"fasta": str(fasta), "qc_summary": str(summary)},
            {"block": str(out)},
            overrides={"sequences.alignment.block_size": len(seqs)},
            threads=THREADS,
            wildcards={"row": 0, "col": 0},
        )
        start = time.perf_counter()
        seq_align.main(ctx)
        return time.perf_counter() - start, np.load(out)


def raw_pyopal(seqs: list[str]) -> float:
    """Seconds of raw pyopal: every query against the whole database (n x n pairs)."""
    matrix = pyopal.Aligner(gap_open=11, gap_extend=1).scoring_matrix
    database = pyopal.Database(seqs, matrix.alphabet)
    start = time.perf_counter()
    with ThreadPool(THREADS) as pool:
        for query in seqs:
            list(pyopal.align(query, database, matrix, threads=THREADS, pool=pool, **GAPS))
    return time.perf_counter() - start


def raw_biopython(seqs: list[str]) -> float:
    """Seconds of Biopython's PairwiseAligner on the upper triangle of the pairs."""
    aligner = PairwiseAligner(
        mode="local",
        substitution_matrix=substitution_matrices.load("BLOSUM62"),
        open_gap_score=-11,
        extend_gap_score=-1,
    )
    start = time.perf_counter()
    for i, query in enumerate(seqs):
        for target in seqs[i:]:
            aligner.score(query, target)
    return time.perf_counter() - start


def triangle_cells(lengths: np.ndarray) -> float:
    """Cells of the upper triangle including the diagonal."""
    return float((lengths.sum() ** 2 + (lengths**2).sum()) / 2)


def run(quick: bool = False) -> list[dict]:
    n, n_bio = (300, 40) if quick else (4000, 120)
    seqs = domains(n)
    lengths = np.array([len(s) for s in seqs], dtype=float)
    tri_cells, full_cells = triangle_cells(lengths), float(lengths.sum() ** 2)
    tri_pairs, full_pairs = n * (n + 1) / 2, float(n * n)

    step_s, scores = workflow_step(seqs)
    start = time.perf_counter()
    defaults = fill_and_validate({})["sequences"]
    tree_of(distances(scores, defaults["distance"]["formula"]), defaults["clustering"]["linkage"])
    e_value = defaults["clustering"]["e_value"]
    stats = karlin_altschul("BLOSUM62", GAPS["gap_open"], GAPS["gap_extend"])
    pairs = significant_pairs(scores, lengths, stats, e_value)
    labels = significance_clusters(n, *pairs, e_value)
    cluster_s = time.perf_counter() - start
    pyopal_s = raw_pyopal(seqs)
    subset = seqs[:n_bio]
    bio_s = raw_biopython(subset)
    bio_cells = triangle_cells(np.array([len(s) for s in subset], dtype=float))
    bio_pairs = n_bio * (n_bio + 1) / 2

    step_gcups = tri_cells / step_s / 1e9
    note = f"{n} domains, ~{lengths.mean():.0f} aa, {THREADS} threads"
    return [
        {
            "benchmark": "all-vs-all alignment vs raw pyopal",
            "unit": "GCUPS",
            "workflow": step_gcups,
            "baseline": full_cells / pyopal_s / 1e9,
            "baseline_name": "pyopal.align per query, 2 threads",
            "notes": note,
        },
        {
            "benchmark": "all-vs-all alignment vs raw pyopal",
            "unit": "pairs/s",
            "workflow": tri_pairs / step_s,
            "baseline": full_pairs / pyopal_s,
            "baseline_name": "pyopal.align per query, 2 threads",
            "notes": note,
        },
        {
            "benchmark": "all-vs-all alignment vs raw Biopython",
            "unit": "GCUPS",
            "workflow": step_gcups,
            "baseline": bio_cells / bio_s / 1e9,
            "baseline_name": f"PairwiseAligner.score, 1 thread, {n_bio} seqs",
            "notes": f"Biopython pairs/s {bio_pairs / bio_s:,.0f}",
        },
        {
            "benchmark": f"align + distances + clustering, {n} domains",
            "unit": "s",
            "workflow": step_s + cluster_s,
            "baseline": pyopal_s * tri_cells / full_cells,
            "baseline_name": "raw pyopal alignment alone, same cells",
            "notes": f"{tri_pairs:,.0f} pairs, {labels.max()} clusters; clustering {cluster_s:.1f} s",
        },
    ]


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))
