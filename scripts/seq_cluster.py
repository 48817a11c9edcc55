"""Cluster the unique sequences: a linkage tree of the distances, and families cut from it or from
the significance of the alignments (see medflow.sequences.cluster for the three cuts); and draw
the clustering (PNG and SVG): dendrogram and ordered distance heatmap.

On the sparse path (more than sequences.alignment.sparse_above unique sequences) the inputs are
the scored candidate pairs instead of the matrices; see medflow.sequences.sparse for how clusters,
medoids and the tree of representatives come from them. There the dendrogram is the tree of the
cluster medoids and the heatmap shows a sample of sequences, in cluster order, with the distances
of their scored pairs (unscored pairs at distance 1); see medflow.sequences.plots for each figure.
Files are byte-identical across reruns.

The clustering is computed once and the two figures are drawn from it in two forked processes
while this one writes the tables: the job is on the critical path of every run, and on two cores
the properties job beside it (one thread) has ended by the time the figures start.

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
    dendrogram_png: dendrogram plot (PNG)
    dendrogram_svg: dendrogram plot (SVG)
    heatmap_png: heatmap plot (PNG)
    heatmap_svg: heatmap plot (SVG)
"""

import json
from collections import Counter
from dataclasses import dataclass
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
from medflow.sequences.plots import draw, plot_dendrogram, plot_heatmap, sampled_distances
from medflow.sequences.sparse import cluster_sparse, load_pairs, newick_with_members
from medflow.sequences.stats import label_scores
from medflow.step import Context, InputError, Step, log

ASSIGNMENT_COLUMNS = ("id", "representative", "cluster", "is_medoid", "joined_on_best_hits")
CLUSTER_COLUMNS = ("cluster", "size", "unique_sequences", "medoid")
STEP = Step(
    __file__,
    settings=(
        "sequences.clustering",
        "sequences.alignment",
        "sequences.distance",
        "sequences.plots",
    ),
    threads=True,
)
# The two figures are drawn in this many forked processes whatever the job's threads (see above).
FIGURE_WORKERS = 2


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


@dataclass(frozen=True)
class Clustering:
    """What the tables are written from: the tree, labels 1..k, summary facts, each cluster's
    medoid (index), who joined on best hits, and the Newick text."""

    tree: np.ndarray
    labels: np.ndarray
    facts: dict
    medoids: dict[int, int]
    joined: np.ndarray
    newick: str


def main(ctx: Context) -> None:
    out = ctx.output
    records = read_fasta(ctx.input.fasta)
    ids = [record.id for record in records]
    seqs = [record.seq for record in records]
    matrix = json.loads(Path(ctx.input.qc_summary).read_text())["matrix"]
    max_labels = ctx.config["sequences"]["plots"]["max_labels"]
    dendrogram_files = (out.dendrogram_png, out.dendrogram_svg)
    if ctx.input.pairs:
        pairs = load_pairs(ctx.input.pairs, len(seqs))
        found = cluster_sparse(pairs, seqs, ctx.config["sequences"], matrix, ctx.threads)
        newick = newick_with_members(found.tree, ids, found.reps, found.labels)
        clustering = Clustering(
            found.tree, found.labels, found.facts, found.medoids, found.joined, newick
        )
        leaves = [ids[rep] for rep in found.reps]
        title = f"medoids of {len(leaves)} clusters ({len(ids)} sequences)"
        leaf_labels = found.labels[found.reps]
        dendrogram = (found.tree, leaf_labels, leaves, max_labels, *dendrogram_files, title)
        dist, order = sampled_distances(pairs, found.labels)
        heatmap = (dist, None, out.heatmap_png, out.heatmap_svg, order)
    else:
        lengths = np.array([len(seq) for seq in seqs], dtype=float)
        if not ctx.input.scores:
            raise InputError(
                "no scores to cluster: give the score matrix (--scores, written by seq_gather) "
                "or the pairs files of the sparse path (--pairs, written by seq_align_pairs)"
            )
        scores = np.load(ctx.input.scores[0])
        if scores.shape != (len(seqs), len(seqs)):
            raise InputError(
                f"{ctx.input.scores[0]}: a {scores.shape[0]} x {scores.shape[-1]} score matrix, but "
                f"{ctx.input.fasta} holds {len(seqs)} sequences; the files come from different "
                "runs. Delete results/sequences/ and rerun."
            )
        dense = cluster_dense(scores, ids, lengths, ctx.config["sequences"], matrix, seqs)
        centre = medoids(dense.dist, dense.labels)
        newick = to_newick(dense.tree, ids)
        clustering = Clustering(dense.tree, dense.labels, dense.facts, centre, dense.joined, newick)
        dendrogram = (dense.tree, dense.labels, ids, max_labels, *dendrogram_files)
        heatmap = (dense.dist, dense.tree, out.heatmap_png, out.heatmap_svg)
    figures = [(plot_dendrogram, dendrogram), (plot_heatmap, heatmap)]
    draw(figures, FIGURE_WORKERS, lambda: write_tables(ctx, ids, clustering))


def write_tables(ctx: Context, ids: list[str], clustering: Clustering) -> None:
    """The assignments, clusters, Newick, linkage and summary files of the clustering."""
    out = ctx.output
    labels_found, centre, joined = clustering.labels, clustering.medoids, clustering.joined
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
    Path(out.newick).write_text(clustering.newick)
    np.save(out.linkage, clustering.tree)
    facts = {
        "records": len(assignments),
        "unique": len(ids),
        "clusters": len(centre),
        **clustering.facts,
    }
    if ctx.input.labels:
        facts |= label_facts(ctx.input.labels[0], assignments, names, status)
    log.info("clustering: %s", facts)
    Path(out.summary).write_text(json.dumps(facts, indent=2) + "\n")


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
