"""Plots of the sequence branch (PNG and SVG): dendrogram, ordered distance heatmap, length histogram.

See medflow.sequences.plots for what each figure shows; files are byte-identical across reruns.
On the sparse path the dendrogram is the tree of the cluster medoids (the first rows of the
clusters table) and the heatmap shows a sample of sequences, in cluster order, with the distances
of their scored pairs (unscored pairs at distance 1). With two threads or more the figures are
drawn in parallel processes (the job is on the critical path of every run).

Inputs:
    scores (optional): score matrix (.npy; dense path; distances by sequences.distance.formula)
    linkage: linkage matrix (.npy)
    fasta: FASTA of the unique sequences
    assignments: cluster assignments (TSV)
    clusters: clusters table (TSV; names the medoids)
    qc_table: QC table (TSV)
    pairs (many): scored candidate pairs per block (.npz; sparse path)
Outputs:
    dendrogram_png: dendrogram plot (PNG)
    dendrogram_svg: dendrogram plot (SVG)
    heatmap_png: heatmap plot (PNG)
    heatmap_svg: heatmap plot (SVG)
    lengths_png: lengths plot (PNG)
    lengths_svg: lengths plot (SVG)
"""

import numpy as np

from medflow.sequences.io import read_columns, read_fasta
from medflow.sequences.plots import (
    draw,
    plot_dendrogram,
    plot_heatmap,
    plot_lengths,
    sampled_distances,
)
from medflow.sequences.stats import distances
from medflow.step import Context, Step

STEP = Step(__file__, settings=("sequences.plots", "sequences.distance"), threads=True)


def main(ctx: Context) -> None:
    out = ctx.output
    ids = [record.id for record in read_fasta(ctx.input.fasta)]
    tree = np.load(ctx.input.linkage)
    names, clusters = read_columns(ctx.input.assignments, "id", "cluster")
    cluster_of = dict(zip(names, map(int, clusters), strict=True))
    labels = np.array([cluster_of[i] for i in ids])
    max_labels = ctx.config["sequences"]["plots"]["max_labels"]
    dendrogram_files = (out.dendrogram_png, out.dendrogram_svg)
    if ctx.input.pairs:
        (medoids,) = read_columns(ctx.input.clusters, "medoid")
        leaves = medoids[: tree.shape[0] + 1]
        leaf_labels = np.array([cluster_of[name] for name in leaves])
        title = f"medoids of {leaf_labels.size} clusters ({len(ids)} sequences)"
        dendrogram = (tree, leaf_labels, leaves, max_labels, *dendrogram_files, title)
        dist, order = sampled_distances(ctx.input.pairs, labels)
        heatmap = (dist, None, out.heatmap_png, out.heatmap_svg, order)
    else:
        formula = ctx.config["sequences"]["distance"]["formula"]
        dist = distances(np.load(ctx.input.scores[0]), formula, ids)
        dendrogram = (tree, labels, ids, max_labels, *dendrogram_files)
        heatmap = (dist, tree, out.heatmap_png, out.heatmap_svg)
    status, lengths = read_columns(ctx.input.qc_table, "status", "length")
    lengths_plot = (status, list(map(int, lengths)), out.lengths_png, out.lengths_svg)
    figures = [(plot_dendrogram, dendrogram), (plot_heatmap, heatmap), (plot_lengths, lengths_plot)]
    draw(figures, ctx.threads)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
