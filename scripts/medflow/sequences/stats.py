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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from medflow.sequences.io import gap_costs
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
