"""Plots of the sequence branch (PNG and SVG): dendrogram, ordered distance heatmap, length histogram.

See medflow.sequences.plots for what each figure shows; files are byte-identical across reruns.
On the sparse path the dendrogram is the tree of the cluster medoids (the first rows of the
clusters table) and the heatmap shows a sample of sequences, in cluster order, with the distances
of their scored pairs (unscored pairs at distance 1).

Inputs:
    distances (optional): distance matrix (.npy; dense path)
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
import pandas as pd

from medflow.sequences.io import read_fasta
from medflow.sequences.plots import (
    plot_dendrogram,
    plot_heatmap,
    plot_lengths,
    sampled_distances,
)
from medflow.step import Context, Step

STEP = Step(__file__, settings=("sequences.plots",))


def main(ctx: Context) -> None:
    out = ctx.output
    ids = [record.id for record in read_fasta(ctx.input.fasta)]
    tree = np.load(ctx.input.linkage)
    table = pd.read_csv(ctx.input.assignments, sep="\t", keep_default_na=False)
    cluster_of = dict(zip(table["id"], table["cluster"], strict=True))
    labels = np.array([cluster_of[i] for i in ids])
    max_labels = ctx.config["sequences"]["plots"]["max_labels"]
    if ctx.input.pairs:
        medoids = pd.read_csv(ctx.input.clusters, sep="\t", keep_default_na=False)["medoid"]
        leaves = [str(name) for name in medoids[: tree.shape[0] + 1]]
        leaf_labels = np.array([cluster_of[name] for name in leaves])
        title = f"medoids of {leaf_labels.size} clusters ({len(ids)} sequences)"
        plot_dendrogram(
            tree, leaf_labels, leaves, max_labels, out.dendrogram_png, out.dendrogram_svg, title
        )
        dist, order = sampled_distances(ctx.input.pairs, labels)
        plot_heatmap(dist, None, out.heatmap_png, out.heatmap_svg, order=order)
    else:
        dist = np.load(ctx.input.distances[0])
        plot_dendrogram(tree, labels, ids, max_labels, out.dendrogram_png, out.dendrogram_svg)
        plot_heatmap(dist, tree, out.heatmap_png, out.heatmap_svg)
    qc = pd.read_csv(ctx.input.qc_table, sep="\t", keep_default_na=False)
    plot_lengths(qc, out.lengths_png, out.lengths_svg)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
