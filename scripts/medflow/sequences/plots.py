"""The branch's figures (PNG and SVG): dendrogram, ordered distance heatmap, length histogram.

The dendrogram colours each link by the cluster all its leaves share (grey when they span clusters)
and labels every leaf up to `max_labels` sequences; beyond that it shows the top `max_labels // 4`
subtrees only (truncated view, leaf counts in brackets). The heatmap orders the sequences as the
dendrogram's leaves; above HEATMAP_MAX sequences it shows an evenly spaced subsample of that order.
Files carry no timestamps or version strings, so reruns are byte-identical.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_hex

HEATMAP_MAX = 1000
GREY = "#999999"
plt.rcParams["svg.hashsalt"] = "medflow"
# IDs are drawn as written: a '$' pair in a FASTA ID is not TeX (a '$\\frac$' ID crashed the job)
plt.rcParams["text.parse_math"] = False
# SVG text stays text (not one path per glyph): a third less drawing time, and the labels stay
# searchable and editable in the SVG
plt.rcParams["svg.fonttype"] = "none"


def save(fig, png: str, svg: str) -> None:
    """Write PNG and SVG without timestamps or version strings, so reruns are byte-identical.

    The tight bounding box is measured once for both files (savefig's "tight" lays the figure out
    again for each; text layout is most of a figure's time), and without a full draw first:
    get_tightbbox places the ticks and titles it measures itself (the figures here use no layout
    engine), which gave the same box and the same bytes in a third less time.
    """
    bbox = fig.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
    # zlib level 1: a quarter bigger than the default 6, in about half the time
    png_options = {"compress_level": 1}
    fig.savefig(png, dpi=120, bbox_inches=bbox, metadata={"Software": None}, pil_kwargs=png_options)
    fig.savefig(svg, bbox_inches=bbox, metadata={"Date": None})
    plt.close(fig)


def draw(
    figures: list[tuple[Callable, tuple]],
    workers: int,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Draw each figure (a plot function and its arguments), in up to `workers` forked processes,
    and call `meanwhile` (if given) in this one while they draw.

    Each figure writes its own files, so the bytes do not depend on the process that drew them.
    """
    if workers < 2 or len(figures) < 2:
        for function, args in figures:
            function(*args)
        if meanwhile is not None:
            meanwhile()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(min(workers, len(figures)), mp_context=fork) as pool:
        futures = [pool.submit(function, *args) for function, args in figures]
        if meanwhile is not None:
            meanwhile()
        for future in futures:
            future.result()


def node_clusters(tree: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cluster of every node (leaves 0..n-1, links n..2n-2); 0 where a link spans clusters."""
    n = labels.size
    nodes = np.concatenate([labels, np.zeros(n - 1, dtype=int)])
    for k, (a, b) in enumerate(tree[:, :2].astype(int)):
        nodes[n + k] = nodes[a] if nodes[a] == nodes[b] else 0
    return nodes


def colour(cluster: int) -> str:
    """The cluster's colour (tab10, cycling); grey for 0."""
    palette = plt.get_cmap("tab10").colors
    return to_hex(palette[(cluster - 1) % len(palette)]) if cluster else GREY


# Leaf labels longer than this are cut, with an ellipsis, in the figures (the tables and the
# Newick keep every ID whole): a 3,000-character ID made a 26,000-pixel-wide dendrogram
LEAF_LABEL_CHARS = 40


def leaf_label(name: str) -> str:
    """A leaf's label in a figure: the ID, cut to LEAF_LABEL_CHARS with an ellipsis."""
    return name if len(name) <= LEAF_LABEL_CHARS else name[: LEAF_LABEL_CHARS - 1] + "\u2026"


def plot_dendrogram(
    tree, labels, ids, max_labels: int, png: str, svg: str, title: str | None = None
) -> None:
    """Dendrogram coloured by cluster (links and leaf labels); truncated beyond max_labels leaves."""
    n = len(ids)
    if n < 2:  # a single leaf (sparse path, one cluster): nothing to draw but the title
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.set_title(title or f"{n} sequences")
        ax.axis("off")
        save(fig, png, svg)
        return
    from scipy.cluster.hierarchy import dendrogram  # not for the length histogram's job

    nodes = node_clusters(tree, labels)
    truncated = n > max_labels
    shown = max(2, max_labels // 4) if truncated else n
    fig, ax = plt.subplots(figsize=(8, max(4.0, 0.14 * shown + 1)))
    drawn = dendrogram(
        tree,
        labels=[leaf_label(name) for name in ids],
        orientation="left",
        link_color_func=lambda k: colour(nodes[k]),
        truncate_mode="lastp" if truncated else None,
        p=shown,
        leaf_font_size=max(4, min(9, 900 // shown)),
        ax=ax,
    )
    for text, node in zip(ax.get_yticklabels(), drawn["leaves"], strict=True):
        text.set_color(colour(nodes[node]))
    ax.set_xlabel("distance")
    title = title or f"{n} sequences, {labels.max()} clusters"
    ax.set_title(title + (f" (top {shown} subtrees, sizes in brackets)" if truncated else ""))
    save(fig, png, svg)


def sampled_distances(
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sparse path: distances (min formula) among HEATMAP_MAX sequences sampled evenly in cluster
    order, from the scored pairs (medflow.sequences.sparse.load_pairs's i, j, scores and
    self-scores; unscored pairs at distance 1); and the order (0..m-1)."""
    n = labels.size
    order = np.argsort(labels, kind="stable")
    if n > HEATMAP_MAX:
        order = order[np.linspace(0, n - 1, HEATMAP_MAX).round().astype(int)]
    i, j, scores, self_scores = pairs
    where = np.full(n, -1)
    where[order] = np.arange(order.size)
    keep = (where[i] >= 0) & (where[j] >= 0)
    dist = np.ones((order.size, order.size))
    a, b = where[i[keep]], where[j[keep]]
    value = 1.0 - scores[keep] / np.minimum(self_scores[i[keep]], self_scores[j[keep]])
    dist[a, b] = dist[b, a] = np.clip(value, 0.0, 1.0)
    np.fill_diagonal(dist, 0.0)
    return dist, np.arange(order.size)


def plot_heatmap(
    dist: np.ndarray, tree: np.ndarray | None, png: str, svg: str, order: np.ndarray | None = None
) -> None:
    """Distance matrix ordered by the dendrogram (or by `order`: the sparse path's cluster order)."""
    from scipy.cluster.hierarchy import leaves_list

    how = "dendrogram order" if order is None else "cluster order, scored pairs only"
    order = leaves_list(tree) if order is None else order
    if order.size > HEATMAP_MAX:
        order = order[np.linspace(0, order.size - 1, HEATMAP_MAX).round().astype(int)]
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(dist[np.ix_(order, order)], cmap="viridis", vmin=0, vmax=1)
    image.set_rasterized(True)
    fig.colorbar(image, ax=ax, label="distance")
    ax.set_title(f"distances, {how} ({order.size} sequences shown)")
    ax.set_xticks([])
    ax.set_yticks([])
    save(fig, png, svg)


def plot_lengths(status: list[str], lengths: list[int], png: str, svg: str) -> None:
    """Histogram of record lengths (QC table columns), passed and rejected records stacked."""
    fig, ax = plt.subplots(figsize=(7, 4))
    passed = [n for n, s in zip(lengths, status, strict=True) if s != "rejected"]
    rejected = [n for n, s in zip(lengths, status, strict=True) if s == "rejected"]
    ax.hist([passed, rejected], bins=40, stacked=True, label=["passed QC", "rejected"])
    ax.set_xlabel("length (residues)")
    ax.set_ylabel("records")
    ax.legend()
    save(fig, png, svg)
