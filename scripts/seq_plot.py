"""Plots of the clustering (PNG and SVG): dendrogram and ordered distance heatmap.

See medflow.sequences.plots for what each figure shows; files are byte-identical across reruns.
The job clusters the alignments itself, as seq_cluster does (medflow.sequences.cluster.cluster_dense
on the dense path, medflow.sequences.sparse.cluster_sparse on the sparse one: deterministic, so
both see the same clusters), and so runs beside seq_cluster instead of after it. On the sparse path
the dendrogram is the tree of the cluster medoids and the heatmap shows a sample of sequences, in
cluster order, with the distances of their scored pairs (unscored pairs at distance 1). With two
threads or more the figures are drawn in parallel processes (the job is on the critical path of
every run). The length histogram is seq_properties' (it needs the QC table only).

Inputs:
    scores (optional): score matrix (.npy; dense path; distances by sequences.distance.formula)
    qc_summary: QC summary JSON (names the matrix)
    fasta: FASTA of the unique sequences
    pairs (many or none): scored candidate pairs per block (.npz; sparse path; none on the dense path)
Outputs:
    dendrogram_png: dendrogram plot (PNG)
    dendrogram_svg: dendrogram plot (SVG)
    heatmap_png: heatmap plot (PNG)
    heatmap_svg: heatmap plot (SVG)
"""

import json
from pathlib import Path

import numpy as np

from medflow.sequences.cluster import cluster_dense
from medflow.sequences.io import read_fasta
from medflow.sequences.plots import (
    draw,
    plot_dendrogram,
    plot_heatmap,
    sampled_distances,
)
from medflow.sequences.sparse import cluster_sparse, load_pairs
from medflow.step import Context, Step

STEP = Step(
    __file__,
    settings=(
        "sequences.plots",
        "sequences.distance",
        "sequences.clustering",
        "sequences.alignment",
    ),
    threads=True,
)


def main(ctx: Context) -> None:
    out = ctx.output
    records = read_fasta(ctx.input.fasta)
    ids = [record.id for record in records]
    max_labels = ctx.config["sequences"]["plots"]["max_labels"]
    dendrogram_files = (out.dendrogram_png, out.dendrogram_svg)
    matrix = json.loads(Path(ctx.input.qc_summary).read_text())["matrix"]
    if ctx.input.pairs:
        seqs = [record.seq for record in records]
        pairs = load_pairs(ctx.input.pairs, len(seqs))
        found = cluster_sparse(pairs, seqs, ctx.config["sequences"], matrix, ctx.threads)
        leaves = [ids[rep] for rep in found.reps]
        title = f"medoids of {len(leaves)} clusters ({len(ids)} sequences)"
        leaf_labels = found.labels[found.reps]
        dendrogram = (found.tree, leaf_labels, leaves, max_labels, *dendrogram_files, title)
        dist, order = sampled_distances(pairs, found.labels)
        heatmap = (dist, None, out.heatmap_png, out.heatmap_svg, order)
    else:
        seqs = [record.seq for record in records]
        lengths = np.array([len(seq) for seq in seqs], dtype=float)
        scores = np.load(ctx.input.scores[0])
        dense = cluster_dense(scores, ids, lengths, ctx.config["sequences"], matrix, seqs)
        dendrogram = (dense.tree, dense.labels, ids, max_labels, *dendrogram_files)
        heatmap = (dense.dist, dense.tree, out.heatmap_png, out.heatmap_svg)
    figures = [(plot_dendrogram, dendrogram), (plot_heatmap, heatmap)]
    draw(figures, ctx.threads)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
