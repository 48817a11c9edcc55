"""The sparse path for large inputs: a k-mer prefilter proposes pairs, only those are aligned.

Above `sequences.alignment.sparse_above` unique sequences, the all-vs-all matrix is never made:
- Prefilter: each sequence's k-mers (K letters of the Murphy 10-letter reduced alphabet, so that
  conservative substitutions still match) are counted against every other sequence's with one
  sparse matrix product per block of queries; each query keeps the TOP candidates most similar by
  the cosine of their k-mer sets (shared / sqrt(|A| |B|), so long sequences do not win on length
  alone) among those sharing at least MIN_SHARED k-mers, and itself, for its self-score. Memory
  per block: block x n counts. 4-mers ranked by cosine keep more weak family members than 5-mers
  ranked by raw counts did (bench/bench_seq_prefilter.py; ARI on pfam_tune_12fam 0.975 against
  0.926, and no lower on samples of pfam_scale_60fam), for about twice the prefilter's time.
  DNA: canonical K_NUCLEOTIDE-mers of the bases (a k-mer and its reverse complement are one), so
  relatives on either strand are proposed; each pair then scores its better strand (score_pairs).
  Two queries of one block that propose each other are aligned once.
- The exact engine (pyopal) scores only the candidate pairs of its block of queries; the blocks
  are separate jobs (medflow.sequences.blocks.row_blocks), so a cluster spreads them.
- Deeper search where the first is not enough: each query first aligns only its FIRST_TOP
  nearest candidates. It is settled when they hold at least FEW_HITS significant partners (it is
  placed: the significance cut needs few hits to join groups) and at least FEW_HITS targets that
  are not (it has seen where its family ends); any other query aligns the rest of its TOP. On
  pfam_tune_12fam and 3,000 and 10,000 of pfam_scale_60fam this gives the clusters of all TOP for
  every query with 24-37% fewer alignments (bench_seq_prefilter; the README has the figures).
- Rescue: a query none of whose candidates scores significantly is searched again against its
  best targets by cosine, at most a quarter of the alignments all TOP candidates would take
  (rescue_candidates), so a family member whose k-mers the prefilter missed is still found.
- Clustering works on the scored pairs: the significance cut takes the significant ones, and small
  groups join by the best E-values among the scored pairs (join_small_groups in
  medflow.sequences.cluster works on pairs on both paths). Its density test counts every pair
  between two clusters, of which the prefilter leaves many unscored: where the scored ones look
  dense in weak hits, the rest are aligned too and the cut is made again (pairs_to_complete; at
  most 1 / COMPLETE_SHARE more alignments). On 12 x 150 Pfam domains this took ARI from 0.904
  to 0.927 (all pairs: 0.928) for 3% more alignments.
- The tree is built on representatives: the medoid (most summed score to its cluster) of each of
  the largest TREE_MAX clusters, aligned all-vs-all; every member hangs under its medoid's leaf,
  members of the smaller clusters under the root, so the Newick names every sequence.
Nothing here holds an n x n array.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from medflow.sequences.blocks import TOP
from medflow.sequences.io import matrix_kind

if TYPE_CHECKING:
    from medflow.sequences.align import Scoring
    from medflow.sequences.stats import Compositions, KarlinAltschul

MURPHY10 = ("LVIM", "C", "A", "G", "ST", "P", "FYW", "EDNQ", "KR", "H")
K = 4
# DNA: the four bases (U read as T), group c's complement being group 3 - c; K_NUCLEOTIDE-mers
NUCLEOTIDES = ("A", "C", "G", "TU")
K_NUCLEOTIDE = 7
MIN_SHARED = 2
# Each query aligns its FIRST_TOP best candidates first, and the rest of its TOP only if those
# hold fewer than FEW_HITS significant partners or fewer than FEW_HITS targets that are not
# (unsettled; scored_pairs).
FIRST_TOP = 100
FEW_HITS = 10
QUERY_CHUNK = 1000
TREE_MAX = 1000
# The rescue (rescue_candidates) adds at most 1 / RESCUE_SHARE of the alignments that all TOP
# candidates of a job's queries would take.
RESCUE_SHARE = 4
# pairs_to_complete aligns at most 1 / COMPLETE_SHARE as many pairs again as were scored.
COMPLETE_SHARE = 4
# among() looks keys up in a table of one byte per key when their range is at most this many
LOOKUP_BYTES = 1 << 24


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values, as np.unique gives them. NumPy 2.4's np.unique hashes when asked
    for nothing else, and on the hundreds of thousands of k-mer and pair keys here that is 50x
    slower than one sort."""
    values = np.sort(values, axis=None)
    return values[np.r_[True, values[1:] != values[:-1]]] if values.size else values


def kmer_matrix(
    seqs: list[str], k: int = K, groups: tuple[str, ...] = MURPHY10, canonical: bool = False
):
    """Sparse (sequences x k-mer codes) presence matrix over letter `groups` (CSR, float32): the
    reduced protein alphabet by default; NUCLEOTIDES with `canonical` for DNA on both strands,
    each k-mer counted as the lesser code of itself and its reverse complement, so a sequence and
    its other strand share all their k-mers.

    The sequences are coded in one pass over their concatenation, a separator between them ending
    every window that would span two."""
    import scipy.sparse as sp

    invalid = len(groups)
    lut = np.full(256, invalid, dtype=np.int64)
    for code, letters in enumerate(groups):
        for letter in letters:
            lut[ord(letter)] = code
            lut[ord(letter.lower())] = code
    letters = lut[np.frombuffer("\n".join(seqs).encode("ascii", "replace"), dtype=np.uint8)]
    words = (invalid + 1) ** k
    if letters.size < k:
        return sp.csr_matrix((len(seqs), 1), dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(letters, k)
    valid = np.flatnonzero((windows < invalid).all(axis=1))
    powers = (invalid + 1) ** np.arange(k)
    codes = windows[valid] @ powers
    if canonical:  # group c's complement is group invalid - 1 - c (NUCLEOTIDES: A-T, C-G)
        codes = np.minimum(codes, (invalid - 1 - windows[valid]) @ powers[::-1])
    # the sequence each window starts in (sequence s starts after the s earlier ones and their
    # separators)
    starts = np.cumsum([0] + [len(seq) + 1 for seq in seqs[:-1]])
    rows = np.searchsorted(starts, valid, side="right") - 1
    keys = distinct(rows * words + codes)  # each k-mer once per sequence
    rows, codes = keys // words, keys % words
    _, columns = np.unique(codes, return_inverse=True)
    width = int(columns.max()) + 1 if columns.size else 1
    data = np.ones(rows.size, dtype=np.float32)
    return sp.csr_matrix((data, (rows, columns.ravel())), shape=(len(seqs), width))


class KmerIndex:
    """The k-mer sets of all sequences, to rank every sequence as a target for some queries."""

    def __init__(self, seqs: list[str], kind: str = "protein", canonical: bool = False):
        """kind 'protein': reduced-alphabet K-mers; 'nucleotide': K_NUCLEOTIDE-mers of the bases,
        `canonical` when both strands are searched (kmer_matrix)."""
        if kind == "nucleotide":
            self.kmers = kmer_matrix(seqs, K_NUCLEOTIDE, NUCLEOTIDES, canonical)
        else:
            self.kmers = kmer_matrix(seqs)
        self.sizes = np.asarray(self.kmers.sum(axis=1), dtype=np.float32).ravel()
        self.transposed = self.kmers.T.tocsr()

    def best_targets(
        self, queries: np.ndarray, keep: int, min_shared: int = MIN_SHARED, threads: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """(i, j): each query's `keep` targets with the most similar k-mer sets by cosine, among
        those sharing at least min_shared k-mers (itself excluded), best first. Queries go in
        chunks of at most QUERY_CHUNK, `threads` chunks at a time (NumPy and SciPy release the
        GIL), so memory is threads x chunk x n; the pairs come back in query order whatever the
        threads."""
        from multiprocessing.pool import ThreadPool

        keep = min(keep, self.sizes.size - 1)
        if keep <= 0 or queries.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        size = min(QUERY_CHUNK, max(100, -(-queries.size // (2 * max(1, threads)))))
        chunks = [queries[first : first + size] for first in range(0, queries.size, size)]
        with ThreadPool(max(1, threads)) as pool:
            found = pool.map(lambda rows: self._best_of_chunk(rows, keep, min_shared), chunks)
        return np.concatenate([i for i, _ in found]), np.concatenate([j for _, j in found])

    def _best_of_chunk(
        self, rows: np.ndarray, keep: int, min_shared: int
    ) -> tuple[np.ndarray, np.ndarray]:
        shared = (self.kmers[rows] @ self.transposed).toarray()
        shared[np.arange(rows.size), rows] = 0
        # minus the cosine, in one block-sized array: argpartition takes the smallest
        ranked = np.outer(self.sizes[rows], self.sizes)
        ranked += 1.0
        np.sqrt(ranked, out=ranked)
        np.divide(shared, ranked, out=ranked)
        np.negative(ranked, out=ranked)
        best = np.argpartition(ranked, keep - 1, axis=1)[:, :keep]
        # best first (ties: lower index first), so that a query's first targets are its nearest
        best = np.take_along_axis(
            best, np.lexsort((best, np.take_along_axis(ranked, best, axis=1))), axis=1
        )
        mask = np.take_along_axis(shared, best, axis=1) >= min_shared
        return np.repeat(rows, keep).reshape(-1, keep)[mask], best[mask]


def candidates(
    index: KmerIndex,
    start: int,
    stop: int,
    top: int = TOP,
    min_shared: int = MIN_SHARED,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) candidate pairs of queries start..stop-1 against all sequences of the index: each
    query's `top` best targets, self pairs included, each pair once where both are queries
    (once_within)."""
    ranked = index.best_targets(np.arange(start, stop), top, min_shared, threads)
    return first_candidates(*ranked, start, stop, top)


def among(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Whether each value is in `table`, as np.isin says. Keys within a modest range go through
    np.isin's lookup table (one byte per key in the range); others through a binary search of the
    sorted values in the sorted table (NumPy 2.4's np.isin sorts both together, several times
    slower on these pair keys, and searching unsorted values misses the cache)."""
    if table.size == 0 or values.size == 0:
        return np.zeros(values.shape, dtype=bool)
    span = int(table.max()) - int(table.min())
    if span <= max(LOOKUP_BYTES, 8 * (values.size + table.size)):
        return np.isin(values, table, kind="table")
    table = np.sort(table)
    order = np.argsort(values)
    ordered = values[order]
    found = np.empty(values.shape, dtype=bool)
    found[order] = table[np.searchsorted(table, ordered).clip(max=table.size - 1)] == ordered
    return found


def ranks(i: np.ndarray) -> np.ndarray:
    """Each pair's place among its query's pairs (0 = first), for pairs grouped by query."""
    if i.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(i)) + 1]
    return np.arange(i.size) - np.repeat(starts, np.diff(np.r_[starts, i.size]))


def first_candidates(
    i: np.ndarray, j: np.ndarray, start: int, stop: int, first: int
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs to align first, sorted: each query's `first` best ranked targets (best_targets's
    order), its self pair, and each pair once where both are queries (once_within)."""
    i, j = nearest_pairs(i, j, start, stop, first)
    order = np.lexsort((j, i))
    return i[order], j[order]


def nearest_pairs(
    i: np.ndarray, j: np.ndarray, start: int, stop: int, first: int
) -> tuple[np.ndarray, np.ndarray]:
    """first_candidates's pairs, unsorted (enough to count them)."""
    near = ranks(i) < first
    queries = np.arange(start, stop)
    return once_within(np.r_[i[near], queries], np.r_[j[near], queries], start, stop)


def deeper_candidates(
    i: np.ndarray,
    j: np.ndarray,
    further: np.ndarray,
    scored_i: np.ndarray,
    scored_j: np.ndarray,
    first: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The rest of the ranked targets (i, j) of the `further` queries, past each one's `first`,
    less the pairs already scored (either way round)."""
    far = (ranks(i) >= first) & among(i, further)
    return unscored(i[far], j[far], scored_i, scored_j)


def unscored(
    i: np.ndarray, j: np.ndarray, scored_i: np.ndarray, scored_j: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (i, j), in their order, without self pairs, pairs scored already either way
    round, and the second copy of a pair given twice."""
    if i.size == 0:
        return i, j
    n = int(max(i.max(), j.max(), scored_i.max(initial=0), scored_j.max(initial=0))) + 1
    fresh = (i != j) & ~among(pair_keys(i, j, n), pair_keys(scored_i, scored_j, n))
    i, j = i[fresh], j[fresh]
    _, first = np.unique(pair_keys(i, j, n), return_index=True)
    first.sort()
    return i[first], j[first]


def loners(
    i: np.ndarray,
    j: np.ndarray,
    scores: np.ndarray,
    lengths: np.ndarray,
    queries: np.ndarray,
    stats: KarlinAltschul,
    e_value: float,
    compositions: Compositions | None = None,
) -> np.ndarray:
    """The queries with no significant partner (E < e_value) among the scored pairs."""
    evalues = pair_evalues(i, j, scores, lengths, stats, compositions, e_value)
    significant = (evalues < e_value) & (i != j)
    partnered = np.zeros(lengths.size, dtype=bool)
    partnered[i[significant]] = partnered[j[significant]] = True
    return queries[~partnered[queries]]


def pair_keys(i: np.ndarray, j: np.ndarray, n: int) -> np.ndarray:
    """One integer per unordered pair: min(i, j) * n + max(i, j)."""
    return np.minimum(i, j) * n + np.maximum(i, j)


def significant_keys(
    i: np.ndarray, j: np.ndarray, evalues: np.ndarray, e_value: float, n: int
) -> np.ndarray:
    """The pairs with E < e_value (self pairs aside), as sorted pair_keys."""
    significant = (evalues < e_value) & (i != j)
    return np.sort(pair_keys(i[significant], j[significant], n))


def unsettled(
    i: np.ndarray,
    j: np.ndarray,
    first: int,
    significant: np.ndarray,
    queries: np.ndarray,
    n: int,
    few: int = FEW_HITS,
) -> np.ndarray:
    """The queries whose first `first` ranked targets (i, j, in best_targets's order) hold fewer
    than `few` significant partners (not placed yet) or fewer than `few` targets that are not (the
    family may go on past them). `significant`: significant_keys of the pairs scored so far."""
    near = ranks(i) < first
    i, j = i[near], j[near]
    hit = among(pair_keys(i, j, n), significant)
    hits = np.bincount(i[hit], minlength=n)[queries]
    misses = np.bincount(i[~hit], minlength=n)[queries]
    return queries[(hits < few) | (misses < few)]


def rescue_candidates(
    index: KmerIndex, lonely: np.ndarray, i: np.ndarray, j: np.ndarray, budget: int
) -> tuple[np.ndarray, np.ndarray]:
    """More targets for queries the prefilter left without a significant hit: each gets its best
    max(TOP, budget / len(lonely)) targets by cosine (all sequences when that covers them), less
    the pairs already scored, so a family member whose k-mers the prefilter missed is still found
    and a job does at most about `budget` more alignments."""
    if lonely.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    n = index.sizes.size
    keep = max(TOP, budget // lonely.size)
    if keep >= n - 1:
        ri = np.repeat(lonely, n)
        rj = np.tile(np.arange(n), lonely.size)
    else:
        ri, rj = index.best_targets(lonely, keep, min_shared=0)
    return unscored(ri, rj, i, j)


def once_within(
    i: np.ndarray, j: np.ndarray, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs without (i, j) where (j, i) is there too and i > j, both in start..stop-1.

    Cosine ranks are symmetric, so family members mostly propose each other; a local score is the
    same both ways, so the pair is aligned once (load_pairs keeps one copy either way). Pairs across
    blocks stay as they are: a block does not know the other's candidates.
    """
    inside = (j >= start) & (j < stop) & (i != j)
    n = int(max(i.max(), j.max())) + 1 if i.size else 1
    keys = i[inside] * n + j[inside]
    drop = np.zeros(i.size, dtype=bool)
    drop[inside] = (i[inside] > j[inside]) & among(j[inside] * n + i[inside], keys)
    return i[~drop], j[~drop]


def longest_targets_first(i: np.ndarray, j: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """An order of the pairs (i, j), i sorted, that keeps each query's pairs together and puts
    its longest targets first. pyopal aligns a query's targets in SIMD lanes and refills a lane
    as its target ends; longest first leaves only short targets for the last, part-filled
    rounds (a quarter less CPU on a query's 80-odd candidates than in the prefilter's order).
    Ties keep their given order, so the order is deterministic."""
    return np.lexsort((-lengths[j], i))


def score_pairs(
    seqs: list[str], i: np.ndarray, j: np.ndarray, scoring: Scoring, threads: int = 1
) -> np.ndarray:
    """Scores of the pairs (i, j), i sorted: each query against its own targets, with pyopal
    (whatever scoring.engine says: Biopython would take hours on the pairs of a large input).
    With scoring.strand 'both' (DNA) each pair scores the better of the query and its reverse
    complement against the target, as score_block does; a self pair keeps the given strand's."""
    from multiprocessing.pool import ThreadPool

    import pyopal

    from medflow.sequences.align import ALGORITHM, OVERFLOW, pyopal_aligner
    from medflow.sequences.io import reverse_complement
    from medflow.step import progress

    aligner = pyopal_aligner(scoring.matrix, scoring.gap_open, scoring.gap_extend)
    database = pyopal.Database(seqs, aligner.alphabet)
    algorithm, overflow = ALGORITHM[scoring.mode], OVERFLOW[scoring.mode]
    starts = np.r_[0, np.flatnonzero(np.diff(i)) + 1, i.size] if i.size else np.zeros(1, int)
    order = longest_targets_first(i, j, np.array([len(seq) for seq in seqs]))
    scores = np.zeros(i.size, dtype=np.float32)

    def run(k: int) -> int:
        a, b = int(starts[k]), int(starts[k + 1])
        query, mine = seqs[int(i[a])], j[order[a:b]]
        targets = database.extract(mine.tolist())
        hits = aligner.align(query, targets, algorithm=algorithm, overflow=overflow)
        found = np.array([hit.score for hit in hits], dtype=np.float32)
        if scoring.strand == "both":
            other = aligner.align(
                reverse_complement(query), targets, algorithm=algorithm, overflow=overflow
            )
            other_scores = np.array([hit.score for hit in other], dtype=np.float32)
            found = np.where(mine == i[a], found, np.maximum(found, other_scores))
        scores[order[a:b]] = found
        return k

    with ThreadPool(max(1, threads)) as pool:
        done = pool.imap_unordered(run, range(starts.size - 1), chunksize=16)
        for _ in progress(done, total=starts.size - 1, desc="aligning candidates"):
            pass
    return scores


def scored_pairs(
    seqs: list[str],
    start: int,
    stop: int,
    scoring: Scoring,
    stats: KarlinAltschul,
    e_value: float,
    threads: int = 1,
    compositions: Compositions | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """The sparse path's scored pairs of queries start..stop-1, sorted, in three searches that
    each go further for fewer queries: each query's FIRST_TOP best candidates; the rest of its TOP
    for the queries those leave unsettled (unsettled, deeper_candidates); then, for those still
    without a significant partner, the rescue (rescue_candidates). Also how many queries the
    second and third searches took. Significance is judged as the clustering judges it
    (`compositions`: medflow.sequences.stats.Compositions, or None for raw scores)."""
    index = KmerIndex(seqs, matrix_kind(scoring.matrix), canonical=scoring.strand == "both")
    queries = np.arange(start, stop)
    ranked = index.best_targets(queries, TOP, MIN_SHARED, threads)
    i, j = first_candidates(*ranked, start, stop, FIRST_TOP)
    scores = score_pairs(seqs, i, j, scoring, threads)
    lengths = np.array([len(seq) for seq in seqs], dtype=float)
    evalues = pair_evalues(i, j, scores, lengths, stats, compositions, e_value)
    significant = significant_keys(i, j, evalues, e_value, len(seqs))
    further = unsettled(*ranked, FIRST_TOP, significant, queries, len(seqs), FEW_HITS)
    deeper_i, deeper_j = deeper_candidates(*ranked, further, i, j, FIRST_TOP)
    deeper = score_pairs(seqs, deeper_i, deeper_j, scoring, threads)
    i, j, scores = np.r_[i, deeper_i], np.r_[j, deeper_j], np.r_[scores, deeper]
    lonely = loners(i, j, scores, lengths, queries, stats, e_value, compositions)
    budget = nearest_pairs(*ranked, start, stop, TOP)[0].size // RESCUE_SHARE
    more_i, more_j = rescue_candidates(index, lonely, i, j, budget)
    more = score_pairs(seqs, more_i, more_j, scoring, threads)
    i, j, scores = np.r_[i, more_i], np.r_[j, more_j], np.r_[scores, more]
    order = np.lexsort((j, i))
    searched = {"searched_deeper": int(further.size), "rescued": int(lonely.size)}
    return i[order], j[order], scores[order], searched


def load_pairs(paths: list[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, score) of every scored pair once (i < j), and the self-scores, from the block files."""
    from medflow.step import InputError

    parts = [np.load(path) for path in paths]
    i = np.concatenate([p["i"] for p in parts]).astype(np.int64)
    j = np.concatenate([p["j"] for p in parts]).astype(np.int64)
    s = np.concatenate([p["score"] for p in parts]).astype(float)
    if i.size and (max(i.max(), j.max()) >= n):
        raise InputError(
            "the sparse alignment blocks name sequences beyond the QC output; they were made for "
            "other sequences: delete results/sequences/alignment/ and rerun"
        )
    own = i == j
    self_scores = np.full(n, np.nan)
    self_scores[i[own]] = s[own]
    if np.isnan(self_scores).any():
        raise InputError("the sparse alignment blocks leave some sequences without a self-score")
    lo, hi = np.minimum(i[~own], j[~own]), np.maximum(i[~own], j[~own])
    key, first = np.unique(lo * n + hi, return_index=True)
    return key // n, key % n, s[~own][first], self_scores


def pair_evalues(
    i: np.ndarray,
    j: np.ndarray,
    scores: np.ndarray,
    lengths: np.ndarray,
    stats: KarlinAltschul,
    compositions: Compositions | None = None,
    below: float = 1.0,
) -> np.ndarray:
    """E-values of scored pairs, per query against the whole set (as the dense path); with
    `compositions`, of the composition-scaled scores of the pairs with E < `below` (scaling only
    raises E: a pair at or above it keeps its raw E, and stays above)."""
    from medflow.sequences.stats import scaled_evalues

    evalues = stats.evalues(scores, lengths[i], lengths[j], lengths.size)
    if compositions is None:
        return evalues
    return scaled_evalues(stats, evalues, scores, i, j, lengths, compositions, below)


def significance_cut_sparse(
    i: np.ndarray,
    j: np.ndarray,
    scores: np.ndarray,
    lengths: np.ndarray,
    stats: KarlinAltschul,
    e_value: float,
    control=None,
    compositions: Compositions | None = None,
) -> tuple[np.ndarray, dict, np.ndarray]:
    """The significance cut on the scored pairs (i < j): labels 1..k, facts for the summary, and
    which sequences joined on best hits (control: as medflow.sequences.cluster.join_small_groups;
    compositions: medflow.sequences.stats.scaled_evalues decides the hits)."""
    # imported here: medflow.sequences.cluster loads SciPy's clustering (0.3 s), which the
    # alignment jobs that import this module never use
    from medflow.sequences.cluster import significance_cut_pairs
    from medflow.sequences.stats import scaled_evalues

    evalues = pair_evalues(i, j, scores, lengths, stats)
    matter = evalues < max(e_value, 1.0)  # the pairs that can matter, as on the dense path
    mi, mj, evalues = i[matter], j[matter], evalues[matter]
    hits = None
    if compositions is not None:
        hits = scaled_evalues(
            stats, evalues, scores[matter], mi, mj, lengths, compositions, e_value
        )
    labels, facts, joined = significance_cut_pairs(
        lengths.size, mi, mj, evalues, e_value, control, hits
    )
    facts = {"cut": "significance", "path": "sparse", "scored_pairs": int(i.size), **facts}
    return labels, facts, joined


def pairs_to_complete(
    labels: np.ndarray, i: np.ndarray, j: np.ndarray, evalues: np.ndarray, budget: int
) -> tuple[np.ndarray, np.ndarray]:
    """The unscored pairs (i < j, sorted) between clusters whose scored pairs look dense in weak
    hits: at least DENSE_SHARE of the scored pairs between them have E < 1, but fewer than
    DENSE_SHARE of all the pairs between them (the join's test, medflow.sequences.cluster.
    dense_target, which counts every pair: the prefilter leaves many unscored). Aligning them
    lets the join decide as it would on all pairs. At most `budget` pairs, the densest cluster
    pairs first."""
    from medflow.sequences.cluster import DENSE_SHARE

    n, k = labels.size, int(labels.max()) + 1
    gi, gj = labels[i], labels[j]
    cross = gi != gj
    key = np.minimum(gi, gj)[cross] * k + np.maximum(gi, gj)[cross]
    groups, scored = np.unique(key, return_counts=True)
    weak = np.unique(key[evalues[cross] < 1.0], return_counts=True)
    hits = np.zeros(groups.size, dtype=int)
    hits[np.searchsorted(groups, weak[0])] = weak[1]
    sizes = np.bincount(labels, minlength=k)
    every = sizes[groups // k] * sizes[groups % k]
    wanted = (hits >= 2) & (hits >= DENSE_SHARE * scored) & (hits < DENSE_SHARE * every)
    order = np.lexsort((groups, -hits / scored))
    chosen, total = [], 0
    for c in order[wanted[order]]:
        if total + every[c] - scored[c] > budget:
            break
        chosen.append(int(groups[c]))
        total += int(every[c] - scored[c])
    if not chosen:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    members = {
        g: np.flatnonzero(labels == g) for g in {c // k for c in chosen} | {c % k for c in chosen}
    }
    keys = []
    for c in chosen:
        a, b = np.meshgrid(members[c // k], members[c % k], indexing="ij")
        keys.append(np.minimum(a, b).ravel() * n + np.maximum(a, b).ravel())
    todo = distinct(np.concatenate(keys))
    done = np.sort(np.minimum(i, j) * n + np.maximum(i, j))  # (np.isin hashes: 10x slower)
    todo = todo[done[np.minimum(np.searchsorted(done, todo), done.size - 1)] != todo]
    return todo // n, todo % n


def sparse_medoids(
    labels: np.ndarray, i: np.ndarray, j: np.ndarray, scores: np.ndarray
) -> dict[int, int]:
    """Each cluster's medoid: the member with the most summed score to its cluster's members."""
    same = labels[i] == labels[j]
    total = np.bincount(i[same], scores[same], minlength=labels.size)
    total += np.bincount(j[same], scores[same], minlength=labels.size)
    order = np.lexsort((np.arange(labels.size), -total, labels))
    first = np.r_[0, np.flatnonzero(np.diff(labels[order])) + 1]
    return {int(labels[order[k]]): int(order[k]) for k in first}


def representative_tree(
    seqs: list[str],
    reps: list[int],
    self_scores: np.ndarray,
    formula: str,
    method: str,
    scoring: Scoring,
    threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(linkage, distances) of the representatives, aligned all-vs-all (a small dense problem)."""
    from medflow.sequences.align import score_block
    from medflow.sequences.cluster import tree_of
    from medflow.sequences.stats import distances

    chosen = [seqs[k] for k in reps]
    if len(chosen) < 2:
        return np.zeros((0, 4)), np.zeros((len(chosen), len(chosen)))
    block = score_block(chosen, chosen, True, scoring, threads)
    np.fill_diagonal(block, self_scores[reps])
    dist = distances(block, formula)
    return tree_of(dist, method), dist


def newick_with_members(
    tree: np.ndarray,
    names: list[str],
    reps: list[int],
    labels: np.ndarray,
) -> str:
    """Newick of the representatives' tree, each member under its medoid, the rest under the root."""
    from medflow.sequences.cluster import newick_name, to_newick

    rep_cluster = {rep: int(labels[rep]) for rep in reps}
    by_cluster: dict[int, list[int]] = {}
    for index, cluster in enumerate(labels.tolist()):
        by_cluster.setdefault(cluster, []).append(index)

    def leaf(rep: int) -> str:
        members = by_cluster[rep_cluster[rep]]
        if len(members) == 1:
            return newick_name(names[rep])
        return "(" + ",".join(f"{newick_name(names[m])}:0" for m in members) + ")"

    placeholders = [f"R{k}" for k in range(len(reps))]
    if len(reps) >= 2:
        text = to_newick(tree, placeholders).rstrip().rstrip(";")
        height = float(tree[-1, 2]) / 2
    else:
        text, height = placeholders[0], 0.5
    pieces = []
    position = 0
    for match in re.finditer(r"R(\d+)(?=:|\)|,|$)", text):
        pieces.append(text[position : match.start()])
        pieces.append(leaf(reps[int(match.group(1))]))
        position = match.end()
    pieces.append(text[position:])
    body = "".join(pieces)
    in_tree = {rep_cluster[rep] for rep in reps}
    rest = [m for c, ms in sorted(by_cluster.items()) if c not in in_tree for m in ms]
    if rest:
        hung = ",".join(f"{newick_name(names[m])}:{max(height, 0.5):.6g}" for m in rest)
        body = f"({body}:0,{hung})"
    return body + ";\n"


@dataclass(frozen=True)
class SparseClustering:
    """The sparse path's clustering: labels 1..k, each cluster's medoid (index), facts for the
    summary, the linkage tree of the representatives (medoids of the largest TREE_MAX clusters,
    in cluster order), those representatives, and which sequences joined on best hits."""

    labels: np.ndarray
    medoids: dict[int, int]
    facts: dict
    tree: np.ndarray
    reps: list[int]
    joined: np.ndarray


def cluster_sparse(
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    seqs: list[str],
    sequences: dict,
    matrix: str,
    threads: int = 1,
) -> SparseClustering:
    """Clusters, medoids and the representatives' tree from the scored pairs (load_pairs's i, j,
    scores and self-scores): what seq_cluster writes and draws."""
    from medflow.sequences.align import Scoring, ShuffleControl
    from medflow.sequences.stats import alignment_statistics, compositions_of

    settings, alignment = sequences["clustering"], sequences["alignment"]
    refuse_unserved(matrix_kind(matrix), matrix, sequences)
    stats = alignment_statistics(alignment, matrix)
    i, j, scores, self_scores = pairs
    lengths = np.array([len(seq) for seq in seqs], dtype=float)
    scoring = Scoring.from_settings(alignment, matrix)
    compositions = compositions_of(seqs, matrix, settings)
    control = ShuffleControl(seqs, stats, scoring, threads)
    labels, facts, joined = significance_cut_sparse(
        i, j, scores, lengths, stats, settings["e_value"], control, compositions
    )
    evalues = pair_evalues(i, j, scores, lengths, stats)
    more_i, more_j = pairs_to_complete(labels, i, j, evalues, budget=i.size // COMPLETE_SHARE)
    if more_i.size:
        more = score_pairs(seqs, more_i, more_j, scoring, threads)
        i, j, scores = np.r_[i, more_i], np.r_[j, more_j], np.r_[scores, more]
        labels, facts, joined = significance_cut_sparse(
            i, j, scores, lengths, stats, settings["e_value"], control, compositions
        )
    facts["pairs_completed"] = int(more_i.size)
    centre = sparse_medoids(labels, i, j, scores)
    reps = [centre[c] for c in sorted(centre)[:TREE_MAX]]
    tree, _ = representative_tree(
        seqs,
        reps,
        self_scores,
        sequences["distance"]["formula"],
        settings["linkage"],
        scoring,
        threads,
    )
    facts = {**facts, "tree_leaves": len(reps)}
    return SparseClustering(labels, centre, facts, tree, reps, joined)


def refuse_unserved(alphabet: str, matrix: str, sequences: dict) -> None:
    """Stop, naming what is missing, when the sparse path cannot serve these input and settings
    (medflow.sequences.blocks.why_not_sparse): the workflow never sends them here, a hand run
    with pairs files might."""
    from medflow.sequences.blocks import why_not_sparse
    from medflow.sequences.stats import known_statistics
    from medflow.step import InputError

    why = why_not_sparse(alphabet, matrix, sequences)
    if why is not None:
        raise InputError(
            f"the sparse path cannot serve this input and these settings: {why} (statistics are "
            f"known for {known_statistics()}); change them or raise "
            "sequences.alignment.sparse_above to align all pairs"
        )
