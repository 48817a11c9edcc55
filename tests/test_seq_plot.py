"""Plots: link colours follow the clusters, full and truncated dendrograms, byte-stable files."""

from functools import partial

import numpy as np

from medflow.sequences.cluster import cut_tree, tree_of
from medflow.sequences.plots import GREY, colour, node_clusters, plot_dendrogram, plot_heatmap


def cluster(dist, method, cut, threshold, n_clusters):
    tree = tree_of(dist, method)
    return tree, cut_tree(tree, cut, threshold, n_clusters)


def link_colours(tree, labels):
    return [colour(c) for c in node_clusters(tree, labels)[labels.size :]]


D = np.array(
    [
        [0.0, 0.1, 0.9, 0.9],
        [0.1, 0.0, 0.9, 0.9],
        [0.9, 0.9, 0.0, 0.2],
        [0.9, 0.9, 0.2, 0.0],
    ]
)


def test_links_inside_a_cluster_take_its_colour_and_joins_are_grey():
    tree, labels = cluster(D, "average", "distance", 0.5, 0)
    colours = link_colours(tree, labels)
    assert len(colours) == 3
    assert colours[0] != colours[1] and "#999999" not in colours[:2]
    assert colours[2] == GREY


def random_matrix(n, seed=0):
    points = np.random.default_rng(seed).random((n, 2))
    dist = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
    return dist / dist.max()


def test_full_and_truncated_dendrograms_and_heatmap_are_byte_stable(tmp_path):
    for n, max_labels in ((12, 300), (60, 16)):
        dist = random_matrix(n)
        tree, labels = cluster(dist, "average", "count", 0.0, 4)
        ids = [f"s{i}" for i in range(n)]
        paths = []
        for run in ("a", "b"):
            png, svg = tmp_path / f"{n}{run}.png", tmp_path / f"{n}{run}.svg"
            plot_dendrogram(tree, labels, ids, max_labels, str(png), str(svg))
            paths.append((png.read_bytes(), svg.read_text()))
        assert paths[0] == paths[1]
        svg_text = paths[0][1]
        assert ("s11" in svg_text) == (n <= max_labels)
        assert ("top 4 subtrees" in svg_text) == (n > max_labels)
    dist = random_matrix(30)
    tree, _ = cluster(dist, "average", "count", 0.0, 3)
    plot_heatmap(dist, tree, str(tmp_path / "h.png"), str(tmp_path / "h.svg"))
    svg = (tmp_path / "h.svg").read_text()
    assert "distances, dendrogram order (30 sequences shown)" in svg
    assert (tmp_path / "h.png").read_bytes().startswith(b"\x89PNG")


def test_ids_holding_dollar_signs_are_drawn_as_written(tmp_path):
    # a '$\frac$' pair was parsed as TeX and crashed the plot job
    dist = random_matrix(6)
    tree, labels = cluster(dist, "average", "count", 0.0, 2)
    ids = ["x$\\frac$y", "a$x$", "b", "c", "d", "e"]
    plot_dendrogram(tree, labels, ids, 300, str(tmp_path / "d.png"), str(tmp_path / "d.svg"))
    svg = (tmp_path / "d.svg").read_text()
    assert "x$\\frac$y" in svg and "a$x$" in svg


def write_text(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def test_draw_runs_the_figures_and_the_meanwhile_work_in_either_mode(tmp_path):
    """Forked (seq_cluster draws its figures while it writes its tables) or in turn, every figure
    is written and the meanwhile work is done once, in this process."""
    from medflow.sequences.plots import draw

    for workers in (1, 2):
        done: list[int] = []
        paths = [tmp_path / f"{workers}-{k}.txt" for k in range(2)]
        figures = [(write_text, (str(path), path.name)) for path in paths]
        draw(figures, workers, partial(done.append, workers))
        assert done == [workers]
        assert [path.read_text() for path in paths] == [path.name for path in paths]


def test_long_ids_are_cut_in_figure_labels_only():
    from medflow.sequences.plots import LEAF_LABEL_CHARS, leaf_label

    assert leaf_label("P12345/1-80") == "P12345/1-80"
    cut = leaf_label("x" * 3000)
    assert len(cut) == LEAF_LABEL_CHARS and cut.endswith("\u2026")
