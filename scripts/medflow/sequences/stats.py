"""Alignment statistics: distances from scores, Karlin–Altschul E-values and bit scores, label agreement.

Karlin–Altschul: a local alignment score S between sequences of lengths m and n has the expected
number of chance hits E = K m' n' exp(-lambda S), where m' and n' are the lengths less the expected
length of a chance alignment, ell = ln(K m n) / H (the edge-effect correction of Altschul & Gish,
1996, as BLAST applies it). lambda, K and H depend on the matrix and gap costs; for gapped scores
they come from simulation, so medflow uses the published values NCBI BLAST ships (blast_stat.c).
BLAST charges a gap of length L `existence + L * extension`, medflow `gap_open + (L - 1) *
gap_extend`: medflow's gap_open 11, gap_extend 1 is BLAST's 10/1.

A hit is judged as BLAST judges a database search: the E-value of a pair is the pairwise one times
the number of sequences in the set, i.e. the expected number of chance hits this good for one query
against the whole input.

Composition-based statistics (Compositions; Schaffer et al. 2001, Nucleic Acids Res 29:2994, the
rescaling BLASTP's composition-based statistics start from): lambda, K and H hold for residues drawn
with background frequencies. Two cysteine-rich domains score high by their shared bias alone (C-C
scores 9): unrelated venom families (phoslip, DISIN) reached E < 0.001 and merged. Each pair's score
is scaled by lambda' / lambda, lambda' being the ungapped lambda of the matrix for the two
sequences' own compositions (at most 1 and at least LAMBDA_RATIO_FLOOR, as BLAST bounds it), before
its E-value is computed. A composition is a sequence's residue counts plus
COMPOSITION_PSEUDOCOUNTS residues of background: a short domain's counts alone are noisy, and noise
alone lowers lambda'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from medflow.sequences.io import PROTEIN, gap_costs, matrix_array, matrix_kind
from medflow.step import InputError

# (matrix, BLAST gap existence, BLAST gap extension): (lambda, K, H), from NCBI BLAST's blast_stat.c,
# for the matrices whose Biopython scores are NCBI's (BLOSUM62, BLOSUM50, PAM30: same scale).
# NCBI's BLOSUM80 is in half bits (A-A 5, W-W 11), Biopython's in third bits (7, 16): its values
# made every example family one cluster, so BLOSUM80 has no entry (the distance cut serves it).
BLAST_GAPPED = {
    ("BLOSUM62", 11, 2): (0.297, 0.082, 0.27),
    ("BLOSUM62", 10, 2): (0.291, 0.075, 0.23),
    ("BLOSUM62", 9, 2): (0.279, 0.058, 0.19),
    ("BLOSUM62", 8, 2): (0.264, 0.045, 0.15),
    ("BLOSUM62", 7, 2): (0.239, 0.027, 0.10),
    ("BLOSUM62", 6, 2): (0.201, 0.012, 0.061),
    ("BLOSUM62", 13, 1): (0.292, 0.071, 0.23),
    ("BLOSUM62", 12, 1): (0.283, 0.059, 0.19),
    ("BLOSUM62", 11, 1): (0.267, 0.041, 0.14),
    ("BLOSUM62", 10, 1): (0.243, 0.024, 0.10),
    ("BLOSUM62", 9, 1): (0.206, 0.010, 0.052),
    ("BLOSUM50", 15, 2): (0.210, 0.058, 0.17),
    ("BLOSUM50", 14, 2): (0.202, 0.045, 0.14),
    ("BLOSUM50", 13, 2): (0.193, 0.035, 0.12),
    ("BLOSUM50", 12, 2): (0.181, 0.025, 0.095),
    ("BLOSUM50", 19, 1): (0.212, 0.057, 0.18),
    ("BLOSUM50", 18, 1): (0.207, 0.050, 0.15),
    ("BLOSUM50", 17, 1): (0.198, 0.037, 0.12),
    ("BLOSUM50", 16, 1): (0.186, 0.025, 0.10),
    ("BLOSUM50", 15, 1): (0.171, 0.015, 0.063),
    ("PAM30", 7, 2): (0.305, 0.15, 0.87),
    ("PAM30", 6, 2): (0.287, 0.11, 0.68),
    ("PAM30", 5, 2): (0.264, 0.079, 0.45),
    ("PAM30", 10, 1): (0.309, 0.15, 0.88),
    ("PAM30", 9, 1): (0.294, 0.11, 0.61),
    ("PAM30", 8, 1): (0.270, 0.072, 0.40),
    # NUC.4.4 scores A, C, G, T as BLAST's reward 5, penalty -4 (blastn_values_5_4); its
    # ambiguity codes are rare after QC (sequences.qc.max_ambiguous_fraction).
    ("NUC.4.4", 10, 6): (0.163, 0.068, 0.16),
    ("NUC.4.4", 8, 6): (0.146, 0.039, 0.11),
}
# Background frequencies of the residues of PROTEIN (per thousand; Robinson & Robinson 1991, PNAS
# 88:8880, the table BLAST's statistics use).
ROBINSON = {
    **{"A": 78.05, "C": 19.25, "D": 53.64, "E": 62.95, "F": 38.56, "G": 73.77, "H": 21.99},
    **{"I": 51.42, "K": 57.44, "L": 90.19, "M": 22.43, "N": 44.87, "P": 52.03, "Q": 42.64},
    **{"R": 51.29, "S": 71.20, "T": 58.41, "V": 64.41, "W": 13.30, "Y": 32.16},
}
BACKGROUND = np.array([ROBINSON[a] for a in PROTEIN]) / sum(ROBINSON.values())
# Compositions: background residues added to each sequence's counts, and the least lambda ratio.
# 50 pseudocounts: on 13 Pfam sets (README, composition-based statistics) 20 split more families
# (ARI 0.927 -> 0.904 on one) for the same merges prevented.
COMPOSITION_PSEUDOCOUNTS = 50
LAMBDA_RATIO_FLOOR = 0.5
# Compositions.ratios works on this many pairs at a time (about 40 MB of tables)
RATIO_CHUNK = 16384
NORMALIZERS = {
    "min": np.minimum.outer,
    "mean": lambda a, b: np.add.outer(a, b) / 2.0,
    "max": np.maximum.outer,
    "geometric": lambda a, b: np.sqrt(np.multiply.outer(a, b)),
}


@dataclass(frozen=True)
class KarlinAltschul:
    """The statistics of local alignment scores for one matrix and gap costs."""

    lam: float
    K: float
    H: float

    def bits(self, scores: np.ndarray) -> np.ndarray:
        """Bit scores (lambda S - ln K) / ln 2: comparable across matrices and gap costs."""
        return (self.lam * np.asarray(scores, dtype=float) - math.log(self.K)) / math.log(2.0)

    def evalues(
        self, scores: np.ndarray, m: np.ndarray, n: np.ndarray, searches: float = 1.0
    ) -> np.ndarray:
        """E = searches * K m' n' exp(-lambda S), lengths less the chance-alignment length ell."""
        m, n = np.asarray(m, dtype=float), np.asarray(n, dtype=float)
        ell = np.log(self.K * m * n) / self.H
        m_eff = np.maximum(m - ell, 1.0 / self.K)
        n_eff = np.maximum(n - ell, 1.0 / self.K)
        return searches * self.K * m_eff * n_eff * np.exp(-self.lam * np.asarray(scores, float))

    def score_floor(self, evalue: float, searches: float = 1.0) -> float:
        """A score at or below which E >= evalue whatever the lengths.

        m' and n' are at least 1/K, so E >= searches / K * exp(-lambda S); the floor solves
        that bound for S, less one score unit so rounding never drops a pair it should keep.
        """
        return math.log(searches / (self.K * evalue)) / self.lam - 1.0


def ungapped_lambda(weights: np.ndarray, values: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Per row, the lambda > 0 with sum_v weights[v] exp(lambda v) = 1 (Karlin & Altschul 1990),
    weights[v] being the chance that two residues drawn from the row's compositions score v. By
    Newton's method from `start`, a point above the root: the sum is convex in lambda, so the
    steps fall onto the root from above without overshooting it."""
    lam = np.array(start, dtype=float)
    for _ in range(200):
        terms = weights * np.exp(lam[:, None] * values)
        step = (terms.sum(axis=1) - 1.0) / (terms @ values)
        lam -= step
        if not step.size or np.abs(step).max() < 1e-12:
            break
    return lam


@dataclass(frozen=True)
class Compositions:
    """Each sequence's residue frequencies, to scale pair scores by composition (module doc)."""

    frequencies: np.ndarray  # (sequences, 20): PROTEIN's residues, with pseudocounts
    projections: np.ndarray  # (sequences, scores, 20): frequencies @ (matrix == value)
    values: np.ndarray  # the matrix's distinct scores among PROTEIN's residues
    lam: float  # the matrix's ungapped lambda for background compositions
    # pair keys (min * n + max, sorted) and their ratios, computed once: the sparse path asks
    # again for most of the pairs it asked for before
    known: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, seqs: list[str], matrix: str) -> Compositions | None:
        """The compositions of `seqs` under a protein matrix; None for nucleotide matrices (BLAST
        has no composition-based statistics for them) and matrices without PROTEIN's residues."""
        alphabet, array = matrix_array(matrix)
        if matrix_kind(matrix) != "protein" or not set(PROTEIN) <= set(alphabet):
            return None
        index = [alphabet.index(a) for a in PROTEIN]
        scores = array[np.ix_(index, index)]
        values = np.unique(scores)
        masks = np.stack([(scores == v).astype(float) for v in values])
        lookup = np.full(256, len(PROTEIN), dtype=np.int64)
        for k, letter in enumerate(PROTEIN):
            lookup[ord(letter)] = lookup[ord(letter.lower())] = k
        letters = lookup[np.frombuffer("".join(seqs).encode("ascii", "replace"), np.uint8)]
        owner = np.repeat(np.arange(len(seqs)), [len(seq) for seq in seqs])
        width = len(PROTEIN) + 1
        counts = np.bincount(owner * width + letters, minlength=len(seqs) * width)
        counts = counts.reshape(len(seqs), width)[:, :-1] + COMPOSITION_PSEUDOCOUNTS * BACKGROUND
        frequencies = counts / counts.sum(axis=1, keepdims=True)
        weights = np.einsum("a,vab,b->v", BACKGROUND, masks, BACKGROUND)[None, :]
        lam = float(ungapped_lambda(weights, values, np.ones(1))[0])
        projections = np.einsum("na,vab->nvb", frequencies, masks)
        return cls(frequencies, projections, values, lam)

    def ratios(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """lambda' / lambda of each pair (i, j), within [LAMBDA_RATIO_FLOOR, 1] (the same both
        ways round: the matrix is symmetric)."""
        n = self.frequencies.shape[0]
        i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
        keys = np.minimum(i, j) * n + np.maximum(i, j)
        known = self.known.get("keys", np.zeros(0, dtype=np.int64))
        known_ratios = self.known.get("ratios", np.zeros(0))
        place = np.searchsorted(known, keys).clip(max=max(known.size - 1, 0))
        found = known[place] == keys if known.size else np.zeros(keys.size, dtype=bool)
        result = np.empty(keys.size)
        result[found] = known_ratios[place[found]]
        fresh, first, inverse = np.unique(keys[~found], return_index=True, return_inverse=True)
        computed = self._ratios(i[~found][first], j[~found][first])
        result[~found] = computed[inverse.ravel()]
        if fresh.size and known.size:
            merged = np.concatenate([known, fresh])
            order = np.argsort(merged, kind="stable")
            self.known["keys"] = merged[order]
            self.known["ratios"] = np.concatenate([known_ratios, computed])[order]
        elif fresh.size:
            self.known["keys"], self.known["ratios"] = fresh, computed
        return result

    def _ratios(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """ratios of pairs not asked before, RATIO_CHUNK pairs at a time (each pair gathers its
        query's scores x residues table: millions of pairs at once took gigabytes)."""
        order = np.argsort(i, kind="stable")
        i, j = i[order], j[order]
        parts = [
            self._ratios_of_chunk(i[first : first + RATIO_CHUNK], j[first : first + RATIO_CHUNK])
            for first in range(0, i.size, RATIO_CHUNK)
        ]
        result = np.empty(i.size)
        result[order] = np.concatenate(parts) if parts else np.zeros(0)
        return result

    def _weights(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Per pair, the chance that residues drawn from the two compositions score each value.
        Pairs come grouped by query on the sparse path (a hundred or more each): one product per
        query then, instead of copying the query's table for every pair."""
        starts = np.r_[0, np.flatnonzero(np.diff(i)) + 1, i.size] if i.size else np.zeros(1, int)
        if starts.size - 1 > i.size // 16:
            return np.einsum("pvb,pb->pv", self.projections[i], self.frequencies[j])
        weights = np.empty((i.size, self.values.size))
        for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
            weights[a:b] = self.frequencies[j[a:b]] @ self.projections[i[a]].T
        return weights

    def _ratios_of_chunk(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        weights = self._weights(i, j)
        ratios = np.ones(weights.shape[0])
        # above 1 at lambda: lambda' is smaller. A pair whose expected score is not negative has
        # no lambda' at all: the floor.
        lower = weights @ np.exp(self.lam * self.values) > 1.0
        solvable = lower & (weights @ self.values < 0)
        start = np.full(int(solvable.sum()), self.lam)
        ratios[solvable] = ungapped_lambda(weights[solvable], self.values, start) / self.lam
        ratios[lower & ~solvable] = LAMBDA_RATIO_FLOOR
        return np.clip(ratios, LAMBDA_RATIO_FLOOR, 1.0)

    def scaled(self, scores: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Scores of the pairs (i, j) scaled by their lambda ratios."""
        return np.asarray(scores, dtype=float) * self.ratios(i, j)


def scaled_evalues(
    stats: KarlinAltschul,
    evalues: np.ndarray,
    scores: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    lengths: np.ndarray,
    compositions: Compositions,
    below: float,
) -> np.ndarray:
    """The pairs' E-values (`evalues`, of the raw `scores`) with those below `below` computed
    again from the composition-scaled scores. Scaling only raises E, so a pair at or above
    `below` keeps its raw E and stays above."""
    result = np.array(evalues, dtype=float)
    low = np.flatnonzero(result < below)
    scaled = compositions.scaled(scores[low], i[low], j[low])
    result[low] = stats.evalues(scaled, lengths[i[low]], lengths[j[low]], lengths.size)
    return result


def compositions_of(seqs: list[str], matrix: str, clustering: dict) -> Compositions | None:
    """Compositions for the pair scores when sequences.clustering.composition_adjustment is on
    (and the matrix is a protein one), else None: E-values of the raw scores."""
    return Compositions.of(seqs, matrix) if clustering["composition_adjustment"] else None


def karlin_altschul(matrix: str, gap_open: int, gap_extend: int) -> KarlinAltschul | None:
    """Published gapped statistics for medflow's gap convention, or None if none are known."""
    values = BLAST_GAPPED.get((matrix, gap_open - gap_extend, gap_extend))
    return None if values is None else KarlinAltschul(*values)


def alignment_statistics(alignment: dict, matrix: str) -> KarlinAltschul | None:
    """karlin_altschul for the sequences.alignment settings (gap costs 'auto' resolved) and the
    run's matrix."""
    return karlin_altschul(matrix, *gap_costs(alignment, matrix))


def known_statistics() -> str:
    """The matrix and gap settings with published statistics, in medflow's gap convention."""
    return ", ".join(
        f"{matrix} {existence + extension}/{extension}"
        for matrix, existence, extension in BLAST_GAPPED
    )


def significant_pairs(
    scores: np.ndarray, lengths: np.ndarray, stats: KarlinAltschul, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, E) of every pair i < j with E < threshold (E per query against the whole set), in
    row-major order.

    E is computed only for the pairs above stats.score_floor (no pair below it can reach the
    threshold), not for all n^2: most pairs of a set are unrelated and score far below it.
    """
    n = lengths.size
    floor = stats.score_floor(threshold, n)
    i, j = np.nonzero(np.triu(scores > floor, k=1))
    e = stats.evalues(scores[i, j], lengths[i], lengths[j], n)
    keep = e < threshold
    return i[keep], j[keep], e[keep]


def distances(scores: np.ndarray, formula: str, ids: list[str] | None = None) -> np.ndarray:
    """1 - s(a,b) / N(s(a,a), s(b,b)) for a symmetric score matrix, clipped to [0, 1]."""
    self_scores = np.diag(scores).astype(float)
    if (self_scores <= 0).any():
        bad = int(np.argmax(self_scores <= 0))
        name = ids[bad] if ids else f"#{bad}"
        raise InputError(
            f"sequence {name} scores {self_scores[bad]:g} against itself; distances need positive "
            "self-scores. Choose another sequences.alignment.matrix or gap setting."
        )
    result = 1.0 - scores / NORMALIZERS[formula](self_scores, self_scores)
    np.clip(result, 0.0, 1.0, out=result)
    np.fill_diagonal(result, 0.0)
    return result


def label_scores(clusters: dict[str, int], labels: dict[str, str]) -> dict:
    """ARI and NMI (scikit-learn's) of clusters against known groups, over the labelled records.

    scikit-learn is imported here, only when labels were given: its import costs seconds.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    known = [name for name in clusters if name in labels]
    facts = {"labelled_records": len(known), "unlabelled_records": len(clusters) - len(known)}
    if len(known) < 2:
        return {**facts, "adjusted_rand_index": None, "normalized_mutual_info": None}
    truth = [labels[name] for name in known]
    found = [clusters[name] for name in known]
    return {
        **facts,
        "adjusted_rand_index": round(float(adjusted_rand_score(truth, found)), 6),
        "normalized_mutual_info": round(float(normalized_mutual_info_score(truth, found)), 6),
    }


def chance_merge_probability(edges: int, pairs: int, rate: float) -> float:
    """P(at least `edges` chance hits among `pairs` pairs), hits Poisson at `rate` per pair."""
    from scipy.special import gammainc

    return float(gammainc(edges, pairs * rate)) if edges > 0 else 1.0
