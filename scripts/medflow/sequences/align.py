"""Score-only pairwise alignment with pyopal (SIMD) or Biopython (the reference), one block at a time.

Both engines use one gap convention: a gap of length L costs gap_open + (L - 1) * gap_extend, so
pyopal and Biopython's PairwiseAligner give identical scores. Nucleotide pairs are scored on both
strands by default (sequences.alignment.strand), as BLASTN, CD-HIT-EST and MMseqs2 search them: a
pair's score is the better of a against b and a against b's reverse complement, so a record given
in the other orientation still meets its relatives.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.pool import ThreadPool

import numpy as np

from medflow.sequences.io import (
    check_pyopal_scoring,
    gap_costs,
    load_matrix,
    matrix_kind,
    reverse_complement,
)
from medflow.step import InputError, progress

ALGORITHM = {"local": "sw", "global": "nw"}
# How pyopal redoes a score that overflows 8 bits: "simple" (redo only those targets at 16 bits) is
# about 25% faster for local scores (most pairs of unrelated sequences stay small), "buckets" a
# little faster for global ones (measured on Pfam domains). Scores are the same either way.
OVERFLOW = {"local": "simple", "global": "buckets"}
RowScorer = Callable[[str, int], np.ndarray]


@dataclass(frozen=True)
class Scoring:
    """How pairs are scored: the engine, the matrix (by name), local or global, the gap costs, and
    the strands ('plus': as given; 'both': the better of b and its reverse complement)."""

    engine: str
    matrix: str
    mode: str
    gap_open: int
    gap_extend: int
    strand: str = "plus"

    @classmethod
    def from_settings(cls, alignment: dict, matrix: str) -> Scoring:
        """From the sequences.alignment settings and the run's matrix (the QC summary names it:
        'auto' resolved); gap costs 'auto' take the matrix kind's (medflow.sequences.io.gap_costs),
        and only nucleotide runs are scored on both strands."""
        gap_open, gap_extend = gap_costs(alignment, matrix)
        nucleotide = matrix_kind(matrix) == "nucleotide"
        strand = "both" if nucleotide and alignment.get("strand", "both") == "both" else "plus"
        return cls(alignment["engine"], matrix, alignment["mode"], gap_open, gap_extend, strand)


def pyopal_aligner(matrix: str, gap_open: int, gap_extend: int):
    """A pyopal Aligner for a named integer matrix and medflow's gap costs."""
    import pyopal
    from scoring_matrices import ScoringMatrix

    scores = check_pyopal_scoring(matrix, gap_open, gap_extend)
    alphabet = "".join(load_matrix(matrix).alphabet)
    scoring = ScoringMatrix(scores.tolist(), alphabet=alphabet, name=matrix)
    return pyopal.Aligner(scoring, gap_open=gap_open, gap_extend=gap_extend)


def pyopal_row_scorer(targets: list[str], scoring: Scoring) -> RowScorer:
    """A function scoring one query against targets[start:] with pyopal (releases the GIL)."""
    import pyopal

    aligner = pyopal_aligner(scoring.matrix, scoring.gap_open, scoring.gap_extend)
    database = pyopal.Database(targets, aligner.alphabet)
    algorithm, overflow = ALGORITHM[scoring.mode], OVERFLOW[scoring.mode]

    def score_row(query: str, start: int) -> np.ndarray:
        hits = aligner.align(query, database, algorithm=algorithm, overflow=overflow, start=start)
        return np.fromiter((hit.score for hit in hits), dtype=float, count=len(targets) - start)

    return score_row


def biopython_row_scorer(targets: list[str], scoring: Scoring) -> RowScorer:
    """The reference: Biopython's PairwiseAligner, one pair at a time."""
    from Bio.Align import PairwiseAligner

    aligner = PairwiseAligner(
        mode=scoring.mode,
        substitution_matrix=load_matrix(scoring.matrix),
        open_gap_score=-scoring.gap_open,
        extend_gap_score=-scoring.gap_extend,
    )

    def score_row(query: str, start: int) -> np.ndarray:
        return np.array([aligner.score(query, target) for target in targets[start:]], dtype=float)

    return score_row


ENGINES = {"pyopal": pyopal_row_scorer, "biopython": biopython_row_scorer}


def score_block(
    queries: list[str],
    targets: list[str],
    diagonal: bool,
    scoring: Scoring,
    threads: int = 1,
    show: bool = True,
) -> np.ndarray:
    """Scores of queries x targets; on a diagonal block (queries == targets) score j >= i only.
    The targets are aligned longest first (and, on a diagonal block, the queries in the same
    order): pyopal refills a SIMD lane as its target ends, so the last, part-filled rounds then
    hold short targets only. That takes a quarter less CPU; the scores are put back in the
    given order. `show`: progress in the log (off for the small checks of ShuffleControl).
    With `scoring.strand` 'both' each pair's score is the better strand's (both_strands)."""
    if scoring.strand == "both":
        return both_strands(queries, targets, diagonal, scoring, threads, show)
    columns = longest_first(targets)
    rows = columns if diagonal else np.arange(len(queries))
    score_row = ENGINES[scoring.engine]([targets[c] for c in columns], scoring)
    block = np.zeros((len(queries), len(targets)))

    def row(i: int) -> tuple[int, np.ndarray]:
        return i, score_row(queries[rows[i]], i if diagonal else 0)

    with ThreadPool(max(1, threads)) as pool:
        scored = pool.imap_unordered(row, range(len(queries)), chunksize=4)
        if show:
            scored = progress(scored, total=len(queries), desc="aligning")
        for i, scores in scored:
            block[i, block.shape[1] - scores.size :] = scores
    if diagonal:
        upper = np.triu(block)
        block = upper + np.triu(block, 1).T
    given = np.empty_like(block)
    given[np.ix_(rows, columns)] = block
    return given


def both_strands(
    queries: list[str],
    targets: list[str],
    diagonal: bool,
    scoring: Scoring,
    threads: int = 1,
    show: bool = True,
) -> np.ndarray:
    """score_block on the targets as given and on their reverse complements; each pair keeps the
    higher score. A diagonal block keeps the self-scores of the given strand. For a matrix that
    scores complements alike (NUC.4.4 does), a against b's reverse complement scores as b against
    a's, so the other strand's diagonal block is symmetric and its upper triangle is enough."""
    plus = replace(scoring, strand="plus")
    given = score_block(queries, targets, diagonal, plus, threads, show)
    other = [reverse_complement(seq) for seq in targets]
    block = np.maximum(given, score_block(queries, other, diagonal, plus, threads, show))
    if diagonal:
        np.fill_diagonal(block, np.diag(given))
    return block


def longest_first(sequences: list[str]) -> np.ndarray:
    """Indices of the sequences, longest first; equal lengths keep their given order."""
    return np.argsort([-len(seq) for seq in sequences], kind="stable")


def gather(blocks: list[np.ndarray], n: int, block_size: int) -> np.ndarray:
    """The n x n score matrix from the upper-triangle blocks (in block_pairs order), mirrored."""
    from medflow.sequences.blocks import block_bounds, block_pairs

    pairs = block_pairs(n, block_size)
    if len(blocks) != len(pairs):
        raise InputError(
            f"expected {len(pairs)} alignment blocks for {n} sequences, got {len(blocks)}"
        )
    scores = np.full((n, n), np.nan)
    for (row, col), block in zip(pairs, blocks, strict=True):
        (r0, r1), (c0, c1) = block_bounds(n, block_size, row), block_bounds(n, block_size, col)
        if block.shape != (r1 - r0, c1 - c0):
            raise InputError(
                f"alignment block {row}_{col} has shape {block.shape}, expected "
                f"{(r1 - r0, c1 - c0)}: it was made for other sequences or another block_size; "
                "delete results/sequences/alignment/ and rerun"
            )
        scores[r0:r1, c0:c1] = block
        scores[c0:c1, r0:r1] = block.T
    if np.isnan(scores).any():
        raise InputError("the gathered alignment blocks leave some pairs unscored")
    return scores


def shuffled(seq: str) -> str:
    """The sequence's residues in a random order, seeded by the sequence itself (so the same
    sequence is shuffled alike whatever its place in the input)."""
    rng = np.random.default_rng(zlib.crc32(seq.encode()))
    return "".join(rng.permutation(list(seq)))


@dataclass
class ShuffleControl:
    """How many weak hits (E < 1) some sequences have with others' residues shuffled: what the
    same composition gives without kinship (Pearson's shuffle test, as in PRSS). The join of the
    significance cut asks it before two groups join on their weak hits
    (medflow.sequences.cluster.dense_target). Each (members, partners) question is answered once."""

    seqs: list[str]
    stats: object  # medflow.sequences.stats.KarlinAltschul (not imported: SciPy)
    scoring: Scoring
    threads: int = 1
    answers: dict = field(default_factory=dict)

    def __call__(self, members: np.ndarray, partners: np.ndarray) -> int:
        key = (members.tobytes(), partners.tobytes())
        if key not in self.answers:
            queries = [self.seqs[m] for m in members]
            targets = [shuffled(self.seqs[p]) for p in partners]
            scores = score_block(queries, targets, False, self.scoring, self.threads, show=False)
            query_lengths = np.array([len(seq) for seq in queries], dtype=float)
            target_lengths = np.array([len(seq) for seq in targets], dtype=float)
            evalues = self.stats.evalues(
                scores, query_lengths[:, None], target_lengths[None, :], len(self.seqs)
            )
            self.answers[key] = int((evalues < 1.0).sum())
        return self.answers[key]
