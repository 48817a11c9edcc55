"""Family recovery on many real Pfam sets: medflow's defaults against MMseqs2, set by set.

The sets are drawn with numpy.random.default_rng(seed) from ../shared/data/sequences/ (Pfam, CC0):
the whole tuning set (12 families x 150 domains); 6 x 50 from it (seeds 200-202); 6 x 50,
10 x 100 and 12 x 150 from the 60-family set (seeds 100-102), and 6 x 50 and 12 x 150 from it
(seeds 103-110); and 3,000 and 10,000 domains of the 60-family set (seed 0). A draw takes its families by `choice` among those with enough
members (sorted names), then its members by `choice` within each family (sorted IDs). Each set
runs end to end through Snakemake with the defaults (dense up to sparse_above unique sequences,
sparse beyond), with the E-values of raw scores (composition_adjustment off)
and with `e_value` 0.01 and 0.0001 to show how much those settings matter, and
MMseqs2 14 `easy-cluster` with its defaults and with `-s 7.5 -c 0 --cluster-mode 1` (its best
setting tuned on labels). Each row: medflow's ARI against the tuned MMseqs2's, cluster counts and
the other columns in the notes; README.md's table of sets is generated from these rows.

Without ../shared/data the sets are generated families (medflow.sequences.simulate, the harder
settings of tests/test_seq_workflow.py), and the rows say so.

    python bench/bench_pfam_sets.py [--quick] [--sets NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO / "scripts")]
from bench_clustering_peers import ensure_peers, run_medflow, run_mmseqs, score  # noqa: E402
from run_all import print_rows  # noqa: E402

from medflow.sequences.io import read_fasta, write_fasta  # noqa: E402
from medflow.sequences.simulate import simulate  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "sequences"
TUNE, SCALE = "pfam_tune_12fam", "pfam_scale_60fam"
# (name, source, families, members per family, seed); families 0: every family, whole.
DRAWS = [
    ("pfam_tune_12fam (12 x 150)", TUNE, 0, 0, 0),
    *[(f"6 x 50 from pfam_tune_12fam, seed {s}", TUNE, 6, 50, s) for s in (200, 201, 202)],
    *[
        (f"{f} x {m} from pfam_scale_60fam, seed {s}", SCALE, f, m, s)
        for f, m in ((6, 50), (10, 100), (12, 150))
        for s in (100, 101, 102)
    ],
    # more draws, added when three of these eight 12 x 150 draws showed phoslip and DISIN merging
    *[
        (f"{f} x {m} from pfam_scale_60fam, seed {s}", SCALE, f, m, s)
        for f, m in ((6, 50), (12, 150))
        for s in range(103, 111)
    ],
]
SAMPLES = [(f"{n:,} of pfam_scale_60fam (60 families), seed 0", SCALE, n) for n in (3000, 10000)]
# Without ../shared/data: families as varied as real ones (tests/test_seq_workflow.py's settings).
GENERATED = {
    "families": 8,
    "members": 20,
    "length": 120,
    "divergence": 0.6,
    "indel_rate": 0.05,
    "divergence_spread": 0.5,
    "fragment_fraction": 0.2,
}
TUNED = ["-s", "7.5", "-c", "0", "--cluster-mode", "1"]
GOAL = 0.92  # issue #11: ARI >= 0.92 on sets of 6-12 families


def load(stem: str) -> tuple[dict[str, str], dict[str, str]]:
    """(id -> sequence, id -> family) of a data set under DATA."""
    records = {record.id: record.seq for record in read_fasta(DATA / f"{stem}.fasta")}
    groups = pd.read_csv(DATA / f"{stem}_groups.tsv", sep="\t", dtype=str)
    return records, dict(zip(groups["id"], groups["group"], strict=True))


def draw(groups: dict[str, str], families: int, members: int, seed: int) -> list[str]:
    """IDs of `families` families x `members` each (module doc); 0 families: every ID."""
    if not families:
        return sorted(groups)
    rng = np.random.default_rng(seed)
    by_family: dict[str, list[str]] = {}
    for name in sorted(groups):
        by_family.setdefault(groups[name], []).append(name)
    large = sorted(f for f, ids in by_family.items() if len(ids) >= members)
    chosen = sorted(rng.choice(large, families, replace=False))
    return [i for f in chosen for i in sorted(rng.choice(by_family[f], members, replace=False))]


def sample(groups: dict[str, str], n: int, seed: int) -> list[str]:
    return sorted(np.random.default_rng(seed).choice(sorted(groups), n, replace=False))


def real_sets(quick: bool) -> list[tuple[str, list[tuple[str, str]], dict[str, str]]]:
    """(name, records, id -> family) of every set, drawn from the Pfam files."""
    data = {stem: load(stem) for stem in (TUNE, SCALE)}
    chosen = [(name, stem, draw(data[stem][1], f, m, s)) for name, stem, f, m, s in DRAWS]
    chosen += [(name, stem, sample(data[stem][1], n, 0)) for name, stem, n in SAMPLES]
    if quick:
        chosen = [c for c in chosen if c[0].startswith("6 x 50")][:2]
    return [
        (name, [(i, data[stem][0][i]) for i in ids], {i: data[stem][1][i] for i in ids})
        for name, stem, ids in chosen
    ]


def generated_sets(quick: bool) -> list[tuple[str, list[tuple[str, str]], dict[str, str]]]:
    sets = []
    for seed in (1, 2) if quick else (1, 2, 3):
        records, table = simulate(**GENERATED, seed=seed)
        name = f"{GENERATED['families']} x {GENERATED['members']} generated families, seed {seed}"
        sets.append((name, records, dict(zip(table["id"], table["group"], strict=True))))
    return sets


def measure_set(records, groups: dict[str, str], work: Path, peers: bool) -> dict[str, dict]:
    """{column: {ari, clusters}} of one set: medflow's defaults, without the composition
    adjustment (raw scores), the e_value variants, MMseqs2."""
    work.mkdir()
    fasta, labels = work / "set.fasta", work / "groups.tsv"
    write_fasta(fasta, records)
    pd.DataFrame({"id": list(groups), "group": list(groups.values())}).to_csv(
        labels, sep="\t", index=False
    )
    truth = pd.Series(groups)
    runs = {
        "default": lambda: run_medflow(fasta, labels, work),
        "raw scores": lambda: run_medflow(
            fasta, labels, work, {"composition_adjustment": False}, "raw"
        ),
        "e_value 0.01": lambda: run_medflow(fasta, labels, work, {"e_value": 0.01}, "e2"),
        "e_value 0.0001": lambda: run_medflow(fasta, labels, work, {"e_value": 0.0001}, "e4"),
    }
    if peers:
        runs["MMseqs2 defaults"] = lambda: run_mmseqs("easy-cluster", [], fasta, work)
        runs["MMseqs2 tuned"] = lambda: run_mmseqs("easy-cluster", TUNED, fasta, work)
    measured = {}
    for column, tool in runs.items():
        seconds, clusters = tool()
        facts = score(truth, clusters.astype(str))
        measured[column] = {
            "ari": round(facts["ari"], 3),
            "clusters": facts["clusters"],
            "seconds": round(seconds, 1),
        }
    return measured


def row_of(name: str, n: int, families: int, measured: dict[str, dict]) -> dict:
    ours = measured["default"]
    baseline = measured.get("MMseqs2 tuned")
    columns = "; ".join(f"{c} {m['ari']:.3f} ({m['clusters']})" for c, m in measured.items())
    return {
        "benchmark": f"family recovery, {name}",
        "unit": "ARI (higher is better)",
        "workflow": ours["ari"],
        "baseline": baseline["ari"] if baseline else None,
        "baseline_name": "mmseqs2 easy-cluster " + " ".join(TUNED),
        "notes": f"{n} sequences, {families} families; ARI (clusters): {columns}",
        "set": {"name": name, "sequences": n, "families": families, "columns": measured},
    }


def run(quick: bool = False, names: list[str] | None = None) -> list[dict]:
    why_not = ensure_peers()
    real = (DATA / f"{SCALE}.fasta").is_file() and (DATA / f"{TUNE}.fasta").is_file()
    sets = real_sets(quick) if real else generated_sets(quick)
    if names:
        sets = [s for s in sets if s[0] in names]
    rows = []
    with tempfile.TemporaryDirectory(prefix="medflow-pfam-sets-") as tmp:
        for k, (name, records, groups) in enumerate(sets):
            measured = measure_set(records, groups, Path(tmp) / str(k), peers=not why_not)
            rows.append(row_of(name, len(records), len(set(groups.values())), measured))
            print_rows(rows[-1:])
    for row in rows:
        if not real:
            row["notes"] += "; ../shared/data absent: generated families"
        if why_not:
            row["notes"] += f"; MMseqs2 absent: {why_not}"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="two small sets only")
    parser.add_argument("--sets", nargs="*", help="set names to run (default: all)")
    args = parser.parse_args()
    run(quick=args.quick, names=args.sets)


if __name__ == "__main__":
    main()
