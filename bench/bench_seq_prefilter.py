"""Could a k-mer prefilter spare the dense path most alignments? Recall and ARI on real families.

The dense path aligns all N² pairs; MMseqs2 aligns only the pairs its k-mer prefilter proposes,
which is why it is faster from a few thousand sequences on. This bench asks what a prefilter would
cost medflow in quality: every pair of the data set is aligned (pyopal, as the workflow does) and
its E-value computed; then each prefilter keeps a share of the pairs, and the table gives the share
kept, the recall of the pairs that decide the clusters (E < 1: the joins of small groups; E < 1e-3:
the hits) and the ARI of the significance cut on the kept pairs alone, against the ARI on all pairs.

Prefilters: medflow's sparse path (`medflow.sequences.sparse.scored_pairs`: reduced-alphabet 4-mers
ranked by cosine similarity of the k-mer sets; each query's FIRST_TOP best first, the rest of its
TOP where those leave it unsettled, then a second, wider search for the queries none of whose
candidates is significant), the same with all TOP for every query (the path before the deeper
search), TOP without the rescue, session 3's (5-mers ranked by the raw count of shared k-mers),
and 4-mers by cosine keeping the best 10% or 30% of targets
per query. Data: the Pfam tuning set
(../shared/data/sequences/pfam_tune_12fam.*) when it is there, else generated families.

    python bench/bench_seq_prefilter.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "scripts")]
from bench_clustering_peers import choose_data  # noqa: E402
from run_all import print_rows  # noqa: E402

from medflow.sequences import sparse  # noqa: E402
from medflow.sequences.align import Scoring, ShuffleControl, score_block  # noqa: E402
from medflow.sequences.blocks import TOP  # noqa: E402
from medflow.sequences.cluster import significance_cut_pairs  # noqa: E402
from medflow.sequences.io import read_fasta  # noqa: E402
from medflow.sequences.sparse import (  # noqa: E402
    MIN_SHARED,
    K,
    KmerIndex,
    candidates,
    kmer_matrix,
    scored_pairs,
)
from medflow.sequences.stats import karlin_altschul, label_scores  # noqa: E402

THREADS = 2
E_VALUE = 1e-3  # the schema's default sequences.clustering.e_value
SCORING = Scoring("pyopal", "BLOSUM62", "local", 11, 1)  # the schema's defaults


def ranked_mask(seqs: list[str], k: int, rank: str, keep: int) -> np.ndarray:
    """Each query's best `keep` targets, ranked by the raw count of shared reduced-alphabet k-mers
    or by the cosine of the k-mer sets, among those sharing MIN_SHARED k-mers (as the sparse path)."""
    kmers = kmer_matrix(seqs, k)
    sizes = np.asarray(kmers.sum(axis=1)).ravel()
    shared = (kmers @ kmers.T).toarray()
    np.fill_diagonal(shared, 0)
    similarity = shared / np.sqrt(np.outer(sizes, sizes) + 1.0) if rank == "cosine" else shared
    best = np.argpartition(-similarity, keep - 1, axis=1)[:, :keep]
    mask = np.zeros(shared.shape, dtype=bool)
    np.put_along_axis(mask, best, True, axis=1)
    return mask & (shared >= MIN_SHARED)


def medflow_mask(seqs: list[str], rescue: bool = True, first: int | None = None) -> np.ndarray:
    """The sparse path's scored pairs (one job of all queries): the prefilter's candidates (each
    query's FIRST_TOP first, the rest of its TOP where those leave it unsettled; `first` = TOP:
    all TOP for every query) and, with `rescue`, the second search's for queries left without a
    significant hit."""
    if rescue:
        stats = karlin_altschul(SCORING.matrix, SCORING.gap_open, SCORING.gap_extend)
        default, sparse.FIRST_TOP = sparse.FIRST_TOP, first or sparse.FIRST_TOP
        try:
            i, j, _, _ = scored_pairs(seqs, 0, len(seqs), SCORING, stats, E_VALUE, THREADS)
        finally:
            sparse.FIRST_TOP = default
    else:
        i, j = candidates(KmerIndex(seqs), 0, len(seqs))
    mask = np.zeros((len(seqs), len(seqs)), dtype=bool)
    mask[i, j] = True
    return mask


def cut_ari(n: int, i, j, evalues, groups: dict[str, str], ids: list[str], control) -> float:
    """ARI of the significance cut of the pairs (i, j, E) against the known groups (control: the
    workflow's check of weak hits against shuffled residues)."""
    labels, _, _ = significance_cut_pairs(n, i, j, evalues, E_VALUE, control)
    return label_scores(dict(zip(ids, labels.tolist(), strict=True)), groups)["adjusted_rand_index"]


def measure(fasta: Path, groups_table: Path) -> tuple[dict, list[dict]]:
    """ARI on all pairs, and per prefilter: share kept, recalls, ARI."""
    records = read_fasta(fasta)
    ids, seqs = [r.id for r in records], [r.seq.upper() for r in records]
    groups = pd.read_csv(groups_table, sep="\t", dtype=str).set_index("id")["group"].to_dict()
    n = len(seqs)
    stats = karlin_altschul(SCORING.matrix, SCORING.gap_open, SCORING.gap_extend)
    scores = score_block(seqs, seqs, True, SCORING, THREADS)
    lengths = np.array([len(s) for s in seqs], dtype=float)
    evalues = stats.evalues(scores, lengths[:, None], lengths[None, :], n)
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    matter, hits = upper & (evalues < 1.0), upper & (evalues < E_VALUE)
    i, j = np.nonzero(matter)
    control = ShuffleControl(seqs, stats, SCORING, THREADS)
    ari = cut_ari(n, i, j, evalues[i, j], groups, ids, control)
    full = {"n": n, "pairs": int(upper.sum()), "ari": ari}
    first = sparse.FIRST_TOP
    filters = {
        f"medflow's sparse path ({K}-mers, cosine, first {first} then the rest of TOP {TOP} "
        "where unsettled, rescue)": medflow_mask(seqs),
        f"{K}-mers, cosine, TOP {TOP} for every query, rescue": medflow_mask(seqs, first=TOP),
        f"{K}-mers, cosine, TOP {TOP}, no rescue": medflow_mask(seqs, rescue=False),
    }
    filters[f"5-mers, raw count, TOP {TOP} (session 3's sparse path)"] = ranked_mask(
        seqs, 5, "raw", min(TOP, n - 1)
    )
    for share in (0.1, 0.3):
        keep = max(1, int(share * n))
        filters[f"4-mers, cosine, best {share:.0%}"] = ranked_mask(seqs, 4, "cosine", keep)
    found = []
    for name, mask in filters.items():
        kept = upper & (mask | mask.T)
        i, j = np.nonzero(kept & matter)
        found.append(
            {
                "name": name,
                "kept": kept.sum() / upper.sum(),
                "recall_1": (kept & matter).sum() / matter.sum(),
                "recall_hits": (kept & hits).sum() / hits.sum(),
                "ari": cut_ari(n, i, j, evalues[i, j], groups, ids, control),
            }
        )
    return full, found


def run(quick: bool = False) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="medflow-prefilter-") as tmp:
        fasta, groups_table, data = choose_data(Path(tmp), None, None, quick)
        full, found = measure(fasta, groups_table)
    return [
        {
            "benchmark": f"prefilter before the significance cut, {data}: {f['name']}",
            "unit": "ARI (higher is better)",
            "workflow": f["ari"],
            "baseline": full["ari"],
            "baseline_name": "all pairs aligned (the dense path)",
            "notes": (
                f"{full['n']} sequences; keeps {f['kept']:.1%} of {full['pairs']:,} pairs; "
                f"recall of pairs with E < 1 {f['recall_1']:.3f}, of hits (E < {E_VALUE:g}) "
                f"{f['recall_hits']:.3f}"
            ),
        }
        for f in found
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="generated families, small")
    print_rows(run(quick=parser.parse_args().quick))


if __name__ == "__main__":
    main()
