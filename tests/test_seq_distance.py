"""Distance formulas on a hand-made score matrix."""

import numpy as np
import pytest

from medflow.sequences.stats import distances
from medflow.step import InputError

SCORES = np.array([[100.0, 40.0, -5.0], [40.0, 50.0, 10.0], [-5.0, 10.0, 200.0]])


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("min", 1 - 40 / 50),
        ("mean", 1 - 40 / 75),
        ("max", 1 - 40 / 100),
        ("geometric", 1 - 40 / np.sqrt(100 * 50)),
    ],
)
def test_formulas(formula, expected):
    result = distances(SCORES, formula)
    assert result[0, 1] == pytest.approx(expected)
    assert result[1, 0] == result[0, 1]
    assert (np.diag(result) == 0).all()


def test_negative_scores_clip_to_one_and_identity_to_zero():
    result = distances(SCORES, "min")
    assert result[0, 2] == 1.0
    contained = np.array([[30.0, 30.0], [30.0, 90.0]])
    assert distances(contained, "min")[0, 1] == 0.0
    assert distances(contained, "mean")[0, 1] == pytest.approx(0.5)


def test_non_positive_self_score_names_the_sequence():
    bad = np.array([[0.0, 1.0], [1.0, 5.0]])
    with pytest.raises(InputError, match="seqA"):
        distances(bad, "min", ids=["seqA", "seqB"])


def test_the_statistics_are_only_for_matrices_on_ncbis_scale():
    # NCBI's lambda/K/H hold for NCBI's matrix scores; Biopython's BLOSUM80 is on another scale
    from Bio.Align import substitution_matrices

    from medflow.sequences.stats import BLAST_GAPPED

    ncbi = {"BLOSUM62": (4, 11), "BLOSUM50": (5, 15), "PAM30": (6, 13)}  # A-A, W-W in blast_stat
    for matrix in {name for name, _, _ in BLAST_GAPPED} - {"NUC.4.4"}:
        scores = substitution_matrices.load(matrix)
        assert (scores["A", "A"], scores["W", "W"]) == ncbi[matrix], matrix
