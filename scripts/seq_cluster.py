"""Cluster the unique sequences: a linkage tree of the distances, and families cut from it or from
the significance of the alignments (see medflow.sequences.cluster for the three cuts).

On the sparse path (more than sequences.alignment.sparse_above unique sequences) the inputs are
the scored candidate pairs instead of the matrices; see medflow.sequences.sparse for how clusters,
medoids and the tree of representatives come from them.

Identical sequences collapsed by QC join their representative's cluster, so the assignments table
has one row per record that passed QC. With a labels table (ID -> known group), the summary holds
the adjusted Rand index and normalized mutual information of clusters vs groups.

Inputs:
    scores (optional): score matrix (.npy; dense path; distances come from it by
        sequences.distance.formula)
    fasta: FASTA of the unique sequences
    qc_table: QC table (maps identical copies)
    qc_summary: QC summary JSON (names the matrix)
    labels (optional): labels table (TSV: id, group)
    pairs (many or none): scored candidate pairs per block (.npz; sparse path; none on the dense path)
Outputs:
    assignments: cluster of every record (TSV)
    clusters: one row per cluster (TSV)
    newick: tree of the unique sequences (Newick)
    linkage: linkage matrix (.npy)
    summary: clustering summary (JSON)
"""

import json
from collections import Counter
from pathlib import Path

import numpy as np

from medflow.sequences.cluster import cluster_dense, medoids, to_newick
from medflow.sequences.io import (
    check_labels_match,
    read_columns,
    read_fasta,
    read_labels,
    unmatched_labels_note,
    write_table,
)
from medflow.sequences.sparse import cluster_sparse, load_pairs, newick_with_members
from medflow.sequences.stats import label_scores
from medflow.step import Context, InputError, Step, log

ASSIGNMENT_COLUMNS = ("id", "representative", "cluster", "is_medoid", "joined_on_best_hits")
CLUSTER_COLUMNS = ("cluster", "size", "unique_sequences", "medoid")
STEP = Step(
    __file__,
    settings=("sequences.clustering", "sequences.alignment", "sequences.distance"),
    threads=True,
)


def label_facts(path: str, assignments: list[dict], names: list[str], status: list[str]) -> dict:
    """ARI and NMI against the labels table, over the clustered records it labels; warnings for
    label IDs that name no record and for labelled records that QC rejected."""
    labels = read_labels(path)
    check_labels_match(labels, path, names)
    note = unmatched_labels_note(labels, path, names)
    if note:
        log.warning(note)
    facts = label_scores({row["id"]: row["cluster"] for row in assignments}, labels)
    if facts["adjusted_rand_index"] is None:
        rejected = [
            n for n, s in zip(names, status, strict=True) if s == "rejected" and n in labels
        ]
        log.warning(
            "fewer than two clustered records have a label (%d labelled records were rejected "
            "by QC: see the rejects table); no ARI/NMI",
            len(rejected),
        )
    return facts


def main(ctx: Context) -> None:
    out = ctx.output
    records = read_fasta(ctx.input.fasta)
    ids = [record.id for record in records]
    matrix = json.loads(Path(ctx.input.qc_summary).read_text())["matrix"]
    if ctx.input.pairs:
        seqs = [record.seq for record in records]
        pairs = load_pairs(ctx.input.pairs, len(seqs))
        found = cluster_sparse(pairs, seqs, ctx.config["sequences"], matrix, ctx.threads)
        tree, labels_found, how, centre = found.tree, found.labels, found.facts, found.medoids
        joined = found.joined
        newick = newick_with_members(tree, ids, found.reps, labels_found)
    else:
        seqs = [record.seq for record in records]
        lengths = np.array([len(seq) for seq in seqs], dtype=float)
        scores = np.load(ctx.input.scores[0])
        dense = cluster_dense(scores, ids, lengths, ctx.config["sequences"], matrix, seqs)
        tree, labels_found, how, joined = dense.tree, dense.labels, dense.facts, dense.joined
        centre = medoids(dense.dist, labels_found)
        newick = to_newick(tree, ids)
    names, status, representative = read_columns(
        ctx.input.qc_table, "id", "status", "representative"
    )
    cluster_of = dict(zip(ids, labels_found.tolist(), strict=True))
    weakly = {name for name, flag in zip(ids, joined.tolist(), strict=True) if flag}
    medoid_ids = {ids[i] for i in centre.values()}
    assignments = []
    for name, state, rep in zip(names, status, representative, strict=True):
        if state == "rejected":
            continue
        if rep not in cluster_of:
            raise InputError(
                f"{ctx.input.qc_table}: record {name} passed QC but is not in {ctx.input.fasta}; "
                "the QC outputs come from different runs. Delete results/sequences/ and rerun."
            )
        row = {"id": name, "representative": rep, "cluster": cluster_of[rep]}
        row |= {"is_medoid": name in medoid_ids, "joined_on_best_hits": rep in weakly}
        assignments.append(row)
    assignments.sort(key=lambda row: (row["cluster"], row["id"]))
    write_table(out.assignments, assignments, ASSIGNMENT_COLUMNS)
    sizes = Counter(row["cluster"] for row in assignments)
    unique_sizes = Counter(labels_found.tolist())
    clusters = [
        {
            "cluster": c,
            "size": sizes[c],
            "unique_sequences": unique_sizes[c],
            "medoid": ids[centre[c]],
        }
        for c in sorted(centre)
    ]
    write_table(out.clusters, clusters, CLUSTER_COLUMNS)
    Path(out.newick).write_text(newick)
    np.save(out.linkage, tree)
    facts = {"records": len(assignments), "unique": len(ids), "clusters": len(centre), **how}
    if ctx.input.labels:
        facts |= label_facts(ctx.input.labels[0], assignments, names, status)
    log.info("clustering: %s", facts)
    Path(out.summary).write_text(json.dumps(facts, indent=2) + "\n")


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
