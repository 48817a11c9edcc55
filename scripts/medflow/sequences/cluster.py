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
  searches expect (all groups decide at once, pass after pass, so the input order plays no
  part). A single sequence needs more: two hits into the group with E < 1, or a best hit with
  E < SINGLE_HIT_E (an orphan's best chance hit has E < 1 in 63% of searches, E < 0.1 in 10%;
  two chance hits into one group are rarer still). A group that wins no such vote (short
  domains: a 40-residue repeat cannot score E < 0.001 however alike) joins the group its weak
  hits crowd into: when at least DENSE_SHARE of the pairs between them are hits with E < 1,
  where chance gives 1 in n, far more than the group's hits elsewhere, spread over the members
  of both, and too many for chance (dense_target). The tree stays the linkage tree of the
  distances.
- distance: cut the tree at a distance threshold.
- count: cut the tree into n_clusters clusters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage, to_tree
from scipy.spatial.distance import squareform

from medflow.sequences.io import gap_costs
from medflow.sequences.stats import (
    Compositions,
    KarlinAltschul,
    alignment_statistics,
    chance_merge_probability,
    compositions_of,
    distances,
    scaled_evalues,
    significant_pairs,
)
from medflow.step import log

NEWICK_SPECIAL = set("()[]':;, \t")
# A single sequence with one hit into a group joins it only when that hit has E below this
# (join_small_groups): one chance hit that good comes in 10% of an orphan's searches. On 13 Pfam
# sets of 6-12 families with 10 orphans added, 103 of 130 orphans stayed alone (70 with E < 1
# alone), for the same ARI without orphans (mean 0.964 both ways) and 0.960 with (0.956).
SINGLE_HIT_E = 0.1
# A group joins the group its weak hits crowd into (dense_target) when at least this share of the
# pairs between them are hits with E < 1; chance gives 1 in n. On 15 Pfam sets (300 to 10,000
# domains) halves of one family of short domains (Bacterial_PQQ, CBD_3, HTH_AraC) were 7-25%
# dense, while the densest pair of different families was 5.2% (phoslip and DISIN, two
# cysteine-rich venom domains, at 3,000 domains) and the next 3.4%: 0.1 keeps twice that margin
# (a later 12 x 150 draw put phoslip and DISIN at 11%, by composition: SHUFFLE_FOLD's test).
DENSE_SHARE = 0.1
# ... and when that share is at least this many times the group's rate of such hits elsewhere.
BACKGROUND_FOLD = 10
# ... and at least this many times the hits the same members give with the partners' residues
# shuffled, with DENSE_SHARE of the pairs hits beyond those shuffled ones (dense_target).
SHUFFLE_FOLD = 3


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
        if n_clusters > n:
            log.warning(
                "sequences.clustering.n_clusters is %d but only %d sequences are clustered: "
                "each is its own cluster",
                n_clusters,
                n,
            )
        raw = fcluster(tree, t=min(n_clusters, n), criterion="maxclust")
    return renumber(raw)


def significance_clusters(
    n: int, i: np.ndarray, j: np.ndarray, evalues: np.ndarray, e_value: float
) -> np.ndarray:
    """Labels 1..k from the significant pairs (i, j, E): merges that beat chance (module doc)."""
    rate = e_value / n
    # Python lists, not arrays: the loop reads one element at a time (1.6x faster at 3,000)
    parent = list(range(n))
    size = [1] * n
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
        if chance_merge_probability(between, size[ra] * size[rb], rate) >= e_value:
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
    labels: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    evalues: np.ndarray,
    e_value: float,
    control: Callable[[np.ndarray, np.ndarray], int] | None = None,
) -> np.ndarray:
    """Groups join a group at least as large that most of their members find (module doc).

    Group A (size a) joins the group B of its best outside hit when at least half of A's members
    have a hit into B with a * E < 1 (fewer than one chance hit that good is expected over A's a
    searches) and |B| >= a. A single sequence (a = 1) has no vote to win, so it joins its best
    hit's group B only on two hits into B with E < 1, or a best hit with E < SINGLE_HIT_E. A tie
    between best hits (E underflows to 0 for long near-identical pairs) goes to the group A hits
    most, then the larger. A group that wins no vote joins the group B (|B| >= a) its weak hits
    crowd into (dense_target; `control`, a medflow.sequences.align.ShuffleControl, counts the
    hits the same residues give shuffled: the workflow always passes one).

    In each pass every group decides against the groups as they stood at the pass's start, and
    the moves are made together (a group joining one that joins another ends in the last), until
    no group moves. So the result does not depend on the order of the input records: groups
    decided one after another used to, through the group numbers that ordered them. The pairs
    (i, j, E) are those with E < 1 or better (no other pair can vote); a pair not given counts
    as E = infinity.
    """
    n = labels.size
    lab = labels - 1
    u, v, e = np.r_[i, j], np.r_[j, i], np.r_[evalues, evalues]
    order = np.argsort(u, kind="stable")
    u, v, e = u[order], v[order], e[order]
    edge_start = np.searchsorted(u, np.arange(n + 1))
    while True:
        groups, inverse, sizes = np.unique(lab, return_inverse=True, return_counts=True)
        by_group = np.split(np.argsort(inverse, kind="stable"), np.cumsum(sizes)[:-1])
        size = dict(zip(groups.tolist(), sizes.tolist(), strict=True))
        moves = {}
        for group, mine in zip(groups.tolist(), by_group, strict=True):
            idx = np.concatenate([np.arange(edge_start[m], edge_start[m + 1]) for m in mine])
            other = lab[v[idx]] if idx.size else idx
            outside = other != group
            idx = idx[outside]
            hits = OutsideHits(mine.size, u[idx], v[idx], other[outside], e[idx])
            target = voted_target(hits, size)
            if target is None:
                target = dense_target(hits, size, n, e_value, control)
            if target is not None:
                moves[group] = target
        if not moves:
            return renumber(lab)
        lab = merged_labels(lab, moves)


@dataclass(frozen=True)
class OutsideHits:
    """A group's pairs into other groups: its size, and per pair its member, the partner, the
    partner's group and E."""

    size: int
    member: np.ndarray
    partner: np.ndarray
    group: np.ndarray
    evalue: np.ndarray


def voted_target(hits: OutsideHits, size: dict[int, int]) -> int | None:
    """The group B of the best outside hit when most members vote for it (join_small_groups),
    or None. size: every group's size."""
    if hits.group.size == 0:
        return None
    a, e = hits.size, hits.evalue
    tied = np.unique(hits.group[e == e.min()])
    target = int(min(tied, key=lambda g: (-int((hits.group == g).sum()), -size[int(g)], g)))
    into = hits.group == target
    votes = np.unique(hits.member[into][e[into] * a < 1.0]).size
    if votes * 2 < a or votes == 0 or size[target] < a:
        return None
    if a == 1 and (e[into] < 1.0).sum() < 2 and e.min() >= SINGLE_HIT_E:
        return None
    return target


def dense_target(
    hits: OutsideHits,
    size: dict[int, int],
    n: int,
    e_value: float,
    control: Callable[[np.ndarray, np.ndarray], int] | None = None,
) -> int | None:
    """The group B (|B| >= a) with the densest hits of E < 1 from this group A of a, or None.
    B must pass five tests, each against a way weak hits arise without kinship:
    - dense: at least DENSE_SHARE of the a * |B| pairs are such hits (homologs too short to
      reach E < e_value still hit each other often; two unrelated families rarely);
    - above A's background: at least BACKGROUND_FOLD times A's rate of such hits with everyone
      outside A and B, or chance's 1 / n if higher (a composition bias hits everyone alike);
    - spread: at least a / 2 members of A hit B, and at least a / 2 members of B are hit (one
      chance likeness between two near-identical members repeats over their relatives);
    - beyond chance: at A's rate, that many hits come with probability below e_value / the
      number of groups (A could have picked any);
    - beyond composition, when `control` is given: the members of A and B that hit each other
      have at least SHUFFLE_FOLD times as many such hits as with B's residues shuffled (or
      SHUFFLE_FOLD hits, where shuffled ones give none), and the hits beyond the shuffled ones
      are still dense (DENSE_SHARE of the pairs). Cysteine-rich families (phoslip, DISIN,
      metallothioneins) hit each other densely by composition alone: 69 hits against 49
      shuffled; DISIN against phoslip 2,396 of 22,500 pairs (11%) against about 750 shuffled,
      which leaves 7% beyond composition; the halves of a family of short domains had 236
      against 7, or 445 against 0.
    Ties: the larger group, then the lower number."""
    weak = hits.evalue < 1.0
    total = int(weak.sum())
    groups, counts = np.unique(hits.group[weak], return_counts=True)
    best = None
    for group, count in zip(groups.tolist(), counts.tolist(), strict=True):
        pairs = hits.size * size[group]
        if size[group] < hits.size or count < DENSE_SHARE * pairs:
            continue
        elsewhere = hits.size * (n - hits.size - size[group])
        rate = max((total - count) / elsewhere if elsewhere else 0.0, 1.0 / n)
        if count < BACKGROUND_FOLD * rate * pairs:
            continue
        into = weak & (hits.group == group)
        members, partners = np.unique(hits.member[into]), np.unique(hits.partner[into])
        if 2 * min(members.size, partners.size) < hits.size:
            continue
        if chance_merge_probability(count, pairs, rate) * len(size) >= e_value:
            continue
        if control is not None:
            shuffled = control(members, partners)
            if count < SHUFFLE_FOLD * max(shuffled, 1) or count - shuffled < DENSE_SHARE * pairs:
                continue
        key = (-count / pairs, -size[group], group)
        best = key if best is None or key < best else best
    return None if best is None else best[2]


def merged_labels(lab: np.ndarray, moves: dict[int, int]) -> np.ndarray:
    """Labels after every group in `moves` joined its target, all at once: the connected
    components of the moves (a group joining a group that joins another ends with both; two
    groups choosing each other merge)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    groups, index = np.unique(lab, return_inverse=True)
    source = np.searchsorted(groups, list(moves))
    target = np.searchsorted(groups, list(moves.values()))
    graph = coo_matrix((np.ones(source.size), (source, target)), shape=(groups.size,) * 2)
    _, component = connected_components(graph, directed=False)
    return component[index.ravel()]


def joined_on_best_hits(found: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Which sequences reached their cluster only through join_small_groups: those outside the
    cluster's largest group from significant hits (ties: the lowest group), so on hits weaker
    than e_value: fragments and divergent members, and now and then an unrelated sequence whose
    best hit was a chance one. These are the members to look at twice."""
    core = {}
    for label in np.unique(labels):
        groups, sizes = np.unique(found[labels == label], return_counts=True)
        core[int(label)] = int(groups[np.argmax(sizes)])
    return found != np.array([core[int(label)] for label in labels])


def significance_cut_pairs(
    n: int,
    i: np.ndarray,
    j: np.ndarray,
    evalues: np.ndarray,
    e_value: float,
    control: Callable[[np.ndarray, np.ndarray], int] | None = None,
    hit_evalues: np.ndarray | None = None,
) -> tuple[np.ndarray, dict, np.ndarray]:
    """The significance cut (module doc) of n sequences from their pairs (i < j, E): labels 1..k,
    facts for the summary, and which sequences joined on best hits (joined_on_best_hits). Pairs
    with E >= 1 may be left out: they change nothing. `hit_evalues`, where given, are the pairs'
    E-values of composition-scaled scores (medflow.sequences.stats.Compositions): they decide the
    hits; the join reads `evalues`, its weak hits being checked against shuffles instead."""
    hit_evalues = evalues if hit_evalues is None else hit_evalues
    hit = hit_evalues < e_value
    found = significance_clusters(n, i[hit], j[hit], hit_evalues[hit], e_value)
    labels = join_small_groups(found, i, j, evalues, e_value, control)
    joined = joined_on_best_hits(found, labels)
    facts = {
        "cut": "significance",
        "e_value": e_value,
        "significant_pairs": int(hit.sum()),
        "groups_from_hits": int(found.max()),
        "groups_after_joining": int(labels.max()),
        "joined_on_best_hits": int(joined.sum()),
    }
    return labels, facts, joined


def significance_cut(
    scores: np.ndarray,
    lengths: np.ndarray,
    stats: KarlinAltschul,
    e_value: float,
    control: Callable[[np.ndarray, np.ndarray], int] | None = None,
    compositions: Compositions | None = None,
) -> tuple[np.ndarray, dict, np.ndarray]:
    """significance_cut_pairs of a score matrix: the cut of the pairs that can matter (E below
    e_value or 1, whichever is larger; with `compositions`, E of the composition-scaled scores)."""
    i, j, evalues = significant_pairs(scores, lengths, stats, max(e_value, 1.0))
    hits = None
    if compositions is not None:  # only a hit can become no hit: scaling only raises E
        hits = scaled_evalues(stats, evalues, scores[i, j], i, j, lengths, compositions, e_value)
    return significance_cut_pairs(lengths.size, i, j, evalues, e_value, control, hits)


def flat_clusters(
    scores: np.ndarray,
    tree: np.ndarray,
    lengths: np.ndarray,
    sequences: dict,
    matrix: str,
    seqs: list[str] | None = None,
) -> tuple[np.ndarray, dict, np.ndarray]:
    """Cluster labels 1..k by sequences.clustering.cut, the facts that say how they were chosen,
    and which sequences joined on best hits (none but with the significance cut); 'significance'
    falls back to the distance cut (with a warning) where local-alignment statistics are unknown
    for the matrix and gap costs. Given the sequences (`seqs`), the join's weak hits are checked
    against shuffled ones (ShuffleControl)."""
    settings, alignment = sequences["clustering"], sequences["alignment"]
    cut = settings["cut"]
    if cut == "significance":
        stats = alignment_statistics(alignment, matrix)
        if alignment["mode"] == "local" and stats is not None:
            compositions = None if seqs is None else compositions_of(seqs, matrix, settings)
            control = shuffle_control(seqs, stats, alignment, matrix)
            e_value = settings["e_value"]
            return significance_cut(scores, lengths, stats, e_value, control, compositions)
        why = (
            "global alignment scores have no Karlin–Altschul statistics"
            if alignment["mode"] != "local"
            else f"no published Karlin–Altschul statistics for {matrix} with gaps "
            f"{'/'.join(map(str, gap_costs(alignment, matrix)))}"
        )
        log.warning("cut 'significance' not possible (%s): cutting at distance instead", why)
        labels = cut_tree(tree, "distance", settings["threshold"], settings["n_clusters"])
        return labels, {"cut": f"distance (significance not possible: {why})"}, labels < 0
    labels = cut_tree(tree, cut, settings["threshold"], settings["n_clusters"])
    return labels, {"cut": cut}, labels < 0


def shuffle_control(seqs: list[str] | None, stats: KarlinAltschul, alignment: dict, matrix: str):
    """The join's check against shuffled residues (medflow.sequences.align.ShuffleControl), or
    None without the sequences."""
    if seqs is None:
        return None
    from medflow.sequences.align import Scoring, ShuffleControl

    return ShuffleControl(seqs, stats, Scoring.from_settings(alignment, matrix))


@dataclass(frozen=True)
class DenseClustering:
    """The dense path's clustering of n sequences: distances, linkage tree, labels 1..k, facts,
    and which sequences joined their cluster on best hits (joined_on_best_hits)."""

    dist: np.ndarray
    tree: np.ndarray
    labels: np.ndarray
    facts: dict
    joined: np.ndarray


def cluster_dense(
    scores: np.ndarray,
    ids: list[str],
    lengths: np.ndarray,
    sequences: dict,
    matrix: str,
    seqs: list[str] | None = None,
) -> DenseClustering:
    """Distances by sequences.distance.formula, their linkage tree and the flat clusters: what
    seq_cluster writes and draws."""
    dist = distances(scores, sequences["distance"]["formula"], ids)
    tree = tree_of(dist, sequences["clustering"]["linkage"])
    labels, facts, joined = flat_clusters(scores, tree, lengths, sequences, matrix, seqs)
    return DenseClustering(dist, tree, labels, facts, joined)


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
