"""Clustering decisions: the tree (SciPy linkage), where to cut it, medoids and the Newick text.

Three cuts (sequences.clustering.cut):
- significance (default): families are the groups joined by significant alignments. Pairs whose
  Karlin–Altschul E-value (per query against the whole set) is below `e_value` are hits; hits join
  groups in order of significance (single linkage on E), but two groups merge only when the hits
  between them are more than chance would give: with hits arriving by chance at rate e_value / n per
  pair, P(at least c chance hits among |A| x |B| pairs) must be below e_value. One stray hit joins
  two sequences, never two whole families. Then small groups that no hit below e_value reached
  (short fragments, divergent sub-families) join a group at least as large when most of their
  members find it: a group of a sequences joins the group of its best outside hit if half its
  members or more hit that group with a * E < 1, i.e. better than the one chance hit its a
  searches expect (a single sequence: its best hit with E < 1). The tree stays the linkage tree of
  the distances.
- distance: cut the tree at a distance threshold.
- count: cut the tree into n_clusters clusters.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage, to_tree
from scipy.spatial.distance import squareform

from medflow.sequences.stats import KarlinAltschul, chance_merge_probability, significant_pairs

NEWICK_SPECIAL = set("()[]':;, \t")


def renumber(raw: np.ndarray) -> np.ndarray:
    """Cluster labels 1..k, numbered by size (largest first), then by first member."""
    _, first, inverse, sizes = np.unique(
        raw, return_index=True, return_inverse=True, return_counts=True
    )
    order = np.lexsort((first, -sizes))
    rank = np.empty(order.size, dtype=int)
    rank[order] = np.arange(1, order.size + 1)
    return rank[inverse.ravel()]


def tree_of(dist: np.ndarray, method: str) -> np.ndarray:
    """The linkage matrix of a square distance matrix."""
    return linkage(squareform(dist, checks=False), method=method)


def cut_tree(tree: np.ndarray, cut: str, threshold: float, n_clusters: int) -> np.ndarray:
    """Labels 1..k from the tree: at a distance (cut 'distance') or into n clusters ('count')."""
    n = tree.shape[0] + 1
    if cut == "distance":
        raw = fcluster(tree, t=threshold, criterion="distance")
    else:
        raw = fcluster(tree, t=min(n_clusters, n), criterion="maxclust")
    return renumber(raw)


def significance_clusters(
    n: int, i: np.ndarray, j: np.ndarray, evalues: np.ndarray, e_value: float
) -> np.ndarray:
    """Labels 1..k from the significant pairs (i, j, E): merges that beat chance (module doc)."""
    rate = e_value / n
    parent = np.arange(n)
    size = np.ones(n, dtype=int)
    hits: list[dict[int, int]] = [{} for _ in range(n)]  # root -> {other root: hits between}
    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        hits[a][b] = hits[a].get(b, 0) + 1
        hits[b][a] = hits[b].get(a, 0) + 1

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    refused: set[tuple[int, int, int, int]] = set()
    order = np.argsort(evalues, kind="stable")
    for a, b in zip(i[order].tolist(), j[order].tolist(), strict=True):
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        key = (min(ra, rb), max(ra, rb), size[ra] + size[rb], size[ra] * size[rb])
        if key in refused:
            continue
        between = hits[ra].get(rb, 0)
        if chance_merge_probability(between, int(size[ra] * size[rb]), rate) >= e_value:
            refused.add(key)
            continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
        for other, count in hits[rb].items():
            if other == ra:
                continue
            hits[ra][other] = hits[ra].get(other, 0) + count
            hits[other][ra] = hits[other].get(ra, 0) + count
            del hits[other][rb]
        hits[ra].pop(rb, None)
        hits[rb] = {}
    return renumber(np.array([root(x) for x in range(n)]))


def join_small_groups(
    labels: np.ndarray, scores: np.ndarray, lengths: np.ndarray, stats: KarlinAltschul
) -> np.ndarray:
    """Groups join a group at least as large that most of their members find (module doc).

    Group A (size a) joins the group B of its best outside hit when at least half of A's members
    have a hit into B with a * E < 1 (fewer than one chance hit that good is expected over A's a
    searches) and |B| >= a. A single sequence (a = 1) thus joins its best hit's group if E < 1.
    Smallest groups first, repeated until nothing moves.
    """
    n = lengths.size
    lab = labels - 1
    order = np.argsort(lab, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(lab[order])) + 1]
    best = np.empty((n, starts.size))  # best E from each sequence into each group
    chunk = max(1, 4_000_000 // max(n, 1))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        e = stats.evalues(scores[start:stop], lengths[start:stop, None], lengths[None, :], n)
        e[np.arange(stop - start), np.arange(start, stop)] = np.inf
        best[start:stop] = np.minimum.reduceat(e[:, order], starts, axis=1)
    size = np.bincount(lab).astype(int)
    moved = True
    while moved:
        moved = False
        for group in np.argsort(size, kind="stable"):
            a = size[group]
            if a == 0:
                continue
            members = np.flatnonzero(lab == group)
            rows = best[members]
            rows[:, group] = np.inf
            rows[:, size == 0] = np.inf
            target = int(np.argmin(rows.min(axis=0)))
            votes = int((rows[:, target] * a < 1.0).sum())
            if votes * 2 < a or votes == 0 or size[target] < a:
                continue
            lab[members] = target
            best[:, target] = np.minimum(best[:, target], best[:, group])
            best[:, group] = np.inf
            size[target] += a
            size[group] = 0
            moved = True
    return renumber(lab)


def significance_cut(
    scores: np.ndarray, lengths: np.ndarray, stats: KarlinAltschul, e_value: float
) -> tuple[np.ndarray, dict]:
    """Labels 1..k of the significance cut (module doc), and facts for the summary."""
    n = lengths.size
    i, j, evalues = significant_pairs(scores, lengths, stats, e_value)
    labels = significance_clusters(n, i, j, evalues, e_value)
    joined = join_small_groups(labels, scores, lengths, stats)
    facts = {
        "cut": "significance",
        "e_value": e_value,
        "significant_pairs": int(i.size),
        "groups_from_hits": int(labels.max()),
        "groups_after_joining": int(joined.max()),
    }
    return joined, facts


def medoids(dist: np.ndarray, labels: np.ndarray) -> dict[int, int]:
    """Index of each cluster's medoid: the member with the least summed distance to the others."""
    result = {}
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        result[int(label)] = int(members[np.argmin(dist[np.ix_(members, members)].sum(axis=1))])
    return result


def newick_name(name: str) -> str:
    """A leaf name, quoted when it holds Newick's special characters."""
    if NEWICK_SPECIAL & set(name):
        return "'" + name.replace("'", "''") + "'"
    return name


def to_newick(tree: np.ndarray, names: list[str]) -> str:
    """The linkage tree as Newick with branch lengths (iterative: deep trees do not recurse).

    A node's height is half its merge distance, so the path between two leaves has the length at
    which they were joined.
    """
    root = to_tree(tree)
    text: dict[int, str] = {}
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if node.is_leaf():
            text[node.id] = newick_name(names[node.id])
        elif not expanded:
            stack += [(node, True), (node.right, False), (node.left, False)]
        else:
            parts = [
                f"{text.pop(child.id)}:{(node.dist - child.dist) / 2:.6g}"
                for child in (node.left, node.right)
            ]
            text[node.id] = f"({','.join(parts)})"
    return text[root.id] + ";\n"
