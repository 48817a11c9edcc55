"""DNA on the sparse path: ARI and time against all pairs, on generated DNA families.

Protein input above `sequences.alignment.sparse_above` takes the sparse path; DNA does too, with
canonical K_NUCLEOTIDE-mers (a k-mer and its reverse complement count as one, so the prefilter
proposes relatives on either strand) and each candidate pair scored on both strands. No real DNA
family set is at hand here, so the data are generated: DNA_FAMILIES families of DNA_MEMBERS
(Kimura's model, ~DNA_LENGTH bases, divergence DNA_DIVERGENCE with the example's spread and
fragments, 30% of the members given as their reverse complement). Both paths run in this process
with the schema's defaults (NUC.4.4, 16/6 gaps, the significance cut): all pairs (score_block,
cluster_dense) and the sparse path (scored_pairs of one job of all queries, cluster_sparse). The
rows give the ARI against the known families and the wall time of alignment and clustering.

    python bench/bench_seq_dna_sparse.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "scripts")]
from run_all import print_rows  # noqa: E402

from medflow.config import fill_and_validate  # noqa: E402
from medflow.sequences import sparse  # noqa: E402
from medflow.sequences.align import Scoring, score_block  # noqa: E402
from medflow.sequences.cluster import cluster_dense  # noqa: E402
from medflow.sequences.simulate import simulate  # noqa: E402
from medflow.sequences.stats import alignment_statistics, label_scores  # noqa: E402

THREADS = 2
DNA_FAMILIES, DNA_MEMBERS, DNA_LENGTH, DNA_DIVERGENCE = 100, 30, 400, 0.5
QUICK = (10, 12, 200, 0.3)
MATRIX = "NUC.4.4"


def families(count: int, members: int, length: int, divergence: float):
    """(ids, sequences, id -> family) of generated DNA families, the example's other settings."""
    example = fill_and_validate({})["sequences"]["example"]
    records, table = simulate(
        families=count,
        members=members,
        length=length,
        divergence=divergence,
        indel_rate=example["indel_rate"],
        divergence_spread=example["divergence_spread"],
        fragment_fraction=example["fragment_fraction"],
        seed=7,
        alphabet="nucleotide",
        reverse_fraction=0.3,
    )
    groups = dict(zip(table["id"], table["group"], strict=True))
    return [r[0] for r in records], [r[1] for r in records], groups


def ari(ids: list[str], labels: np.ndarray, groups: dict[str, str]) -> float:
    found = dict(zip(ids, labels.tolist(), strict=True))
    return label_scores(found, groups)["adjusted_rand_index"]


def both_paths(ids: list[str], seqs: list[str], groups: dict[str, str]) -> dict[str, dict]:
    """ARI, clusters, scored pairs and seconds of all pairs and of the sparse path."""
    sequences = fill_and_validate({})["sequences"]
    scoring = Scoring.from_settings(sequences["alignment"], MATRIX)
    stats = alignment_statistics(sequences["alignment"], MATRIX)
    lengths = np.array([len(seq) for seq in seqs], dtype=float)
    n = len(seqs)
    start = time.perf_counter()
    block = score_block(seqs, seqs, True, scoring, THREADS, show=False)
    dense = cluster_dense(block, ids, lengths, sequences, MATRIX, seqs)
    dense_s = time.perf_counter() - start
    start = time.perf_counter()
    e_value = sequences["clustering"]["e_value"]
    i, j, scores, _ = sparse.scored_pairs(seqs, 0, n, scoring, stats, e_value, THREADS)
    with tempfile.TemporaryDirectory() as tmp:  # as the workflow hands pairs over: one .npz
        path = Path(tmp) / "pairs.npz"
        np.savez(path, i=i.astype(np.int32), j=j.astype(np.int32), score=scores)
        pairs = sparse.load_pairs([str(path)], n)
    found = sparse.cluster_sparse(pairs, seqs, sequences, MATRIX, THREADS)
    sparse_s = time.perf_counter() - start
    return {
        "dense": {"ari": ari(ids, dense.labels, groups), "clusters": int(dense.labels.max()),
                  "pairs": n * (n - 1) // 2, "seconds": dense_s},
        "sparse": {"ari": ari(ids, found.labels, groups), "clusters": int(found.labels.max()),
                   "pairs": int(pairs[0].size), "seconds": sparse_s},
    }  # fmt: skip


def run(quick: bool = False) -> list[dict]:
    count, members, length, divergence = (
        QUICK if quick else (DNA_FAMILIES, DNA_MEMBERS, DNA_LENGTH, DNA_DIVERGENCE)
    )
    ids, seqs, groups = families(count, members, length, divergence)
    paths = both_paths(ids, seqs, groups)
    dense, sparse_path = paths["dense"], paths["sparse"]
    data = (
        f"{count} generated DNA families x {members} (~{length} bases, divergence {divergence}, "
        f"30% reversed; {len(seqs)} sequences)"
    )
    notes = (
        f"sparse path: {sparse_path['clusters']} clusters, ARI {sparse_path['ari']:.3f}, "
        f"{sparse_path['pairs']:,} pairs scored ({sparse_path['pairs'] / dense['pairs']:.0%} of "
        f"all), {sparse_path['seconds']:.1f} s; all pairs: {dense['clusters']} clusters, ARI "
        f"{dense['ari']:.3f}, {dense['seconds']:.1f} s (true {count}); canonical "
        f"{sparse.K_NUCLEOTIDE}-mers, both strands, {THREADS} threads"
    )
    return [
        {
            "benchmark": f"DNA sparse path, {data}: family recovery",
            "unit": "ARI (higher is better)",
            "workflow": sparse_path["ari"],
            "baseline": dense["ari"],
            "baseline_name": "all pairs aligned (the dense path)",
            "notes": notes,
        },
        {
            "benchmark": f"DNA sparse path, {data}: alignment and clustering",
            "unit": "s wall (lower is better)",
            "workflow": sparse_path["seconds"],
            "baseline": dense["seconds"],
            "baseline_name": "all pairs aligned (the dense path)",
            "notes": notes,
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="120 short sequences (smoke test)")
    print_rows(run(quick=parser.parse_args().quick))


if __name__ == "__main__":
    main()
