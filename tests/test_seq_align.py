"""Alignment scores: known values, pyopal == Biopython on every pair, blocks gathered whole."""

from dataclasses import replace

import numpy as np
import pytest
from test_seq_simulate import example

from medflow.sequences.align import Scoring, gather, longest_first
from medflow.sequences.align import score_block as engine_block
from medflow.sequences.blocks import block_bounds, block_pairs
from medflow.sequences.io import check_scoring_settings
from medflow.sequences.simulate import simulate
from medflow.step import InputError

DEFAULTS = {
    "engine": "pyopal",
    "matrix": "BLOSUM62",
    "mode": "local",
    "gap_open": 11,
    "gap_extend": 1,
}


def score_block(queries, targets, diagonal, threads=1, **options):
    return engine_block(queries, targets, diagonal, Scoring(**{**DEFAULTS, **options}), threads)


def pair_score(a, b, engine, **options):
    return score_block([a], [b], diagonal=False, engine=engine, **options)[0, 0]


@pytest.mark.parametrize("engine", ["pyopal", "biopython"])
def test_known_scores(engine):
    # Durbin et al., Biological Sequence Analysis, ch. 2: BLOSUM50, linear gap cost 8.
    durbin = {"matrix": "BLOSUM50", "gap_open": 8, "gap_extend": 8}
    assert pair_score("HEAGAWGHEE", "PAWHEAE", engine, mode="global", **durbin) == 1
    assert pair_score("HEAGAWGHEE", "PAWHEAE", engine, mode="local", **durbin) == 28
    # BLOSUM62 self-score: A 4 + C 9 + D 6 + E 5.
    assert pair_score("ACDE", "ACDE", engine, mode="local") == 24
    # WW matched (2 x 11) and one gap of length 2 costing 11 + 1.
    assert pair_score("WWWW", "WW", engine, mode="global") == 10


def agreement_set() -> list[str]:
    records, _ = simulate(
        **example(families=3, members=6, length=40, divergence=0.5, indel_rate=0.1), seed=7
    )
    return [seq for _, seq in records] + ["W", "MKV", "PPPPPPPPPPPPPPPPPPPPPPPPPPPP"]


@pytest.mark.parametrize("mode", ["local", "global"])
@pytest.mark.parametrize(
    ("matrix", "gap_open", "gap_extend"), [("BLOSUM62", 11, 1), ("PAM30", 5, 3), ("BLOSUM45", 2, 2)]
)
def test_pyopal_and_biopython_agree_on_every_pair(mode, matrix, gap_open, gap_extend):
    seqs = agreement_set()
    options = {"mode": mode, "matrix": matrix, "gap_open": gap_open, "gap_extend": gap_extend}
    fast = score_block(seqs, seqs, True, engine="pyopal", threads=2, **options)
    reference = score_block(seqs, seqs, True, engine="biopython", **options)
    assert fast.shape == (len(seqs), len(seqs))
    np.testing.assert_array_equal(fast, reference)
    np.testing.assert_array_equal(fast, fast.T)


def test_longest_first_keeps_ties_in_their_order():
    assert longest_first(["AA", "CCCC", "G", "TTTT", "AC"]).tolist() == [1, 3, 0, 4, 2]


@pytest.mark.parametrize("diagonal", [True, False])
def test_blocks_put_scores_back_in_the_given_order(diagonal):
    # The engine aligns longest first; every cell must still be the pair's own score.
    seqs = agreement_set()
    queries = seqs if diagonal else seqs[::2]
    block = score_block(queries, seqs, diagonal, threads=2)
    for r, query in enumerate(queries):
        for c, target in enumerate(seqs):
            assert block[r, c] == pair_score(query, target, "biopython"), (r, c)


def test_nucleotide_scores_agree():
    seqs = ["ACGTACGTTTGACN", "ACGTTTGAC", "GGGGACGTAAAA", "TTTTTTTT"]
    for mode in ("local", "global"):
        options = {"mode": mode, "matrix": "NUC.4.4", "gap_open": 10, "gap_extend": 1}
        np.testing.assert_array_equal(
            score_block(seqs, seqs, True, engine="pyopal", **options),
            score_block(seqs, seqs, True, engine="biopython", **options),
        )


def test_blocks_gather_into_the_full_matrix():
    seqs = agreement_set()
    n, size = len(seqs), 4
    full = score_block(seqs, seqs, True)
    blocks = []
    for row, col in block_pairs(n, size):
        (r0, r1), (c0, c1) = block_bounds(n, size, row), block_bounds(n, size, col)
        blocks.append(score_block(seqs[r0:r1], seqs[c0:c1], row == col, threads=2))
    np.testing.assert_array_equal(gather(blocks, n, size), full)
    with pytest.raises(InputError, match="alignment blocks"):
        gather(blocks[:-1], n, size)


def test_block_pairs_cover_the_upper_triangle():
    assert block_pairs(5, 2) == [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
    assert block_bounds(5, 2, 2) == (4, 5)


def test_pyopal_refuses_a_non_integer_matrix():
    with pytest.raises(InputError, match="integer matrix"):
        pair_score("ACDE", "ACDE", "pyopal", matrix="BENNER22")
    assert pair_score("ACDE", "ACDE", "biopython", matrix="BENNER22") > 0


def test_pyopal_refuses_gap_open_below_gap_extend():
    with pytest.raises(InputError, match="gap_open >= gap_extend"):
        pair_score("ACDE", "ACDE", "pyopal", gap_open=1, gap_extend=3)


def settings(alphabet="auto", **alignment):
    return {"alphabet": alphabet, "alignment": {**DEFAULTS, **alignment}}


@pytest.mark.parametrize(
    ("alphabet", "alignment", "message"),
    [
        ("auto", {"matrix": "SCHNEIDER"}, "SCHNEIDER' scores 64 symbols of several letters"),
        ("auto", {"matrix": "BLOSUM63"}, "unknown substitution matrix 'BLOSUM63'"),
        ("auto", {"matrix": "GONNET1992"}, "pyopal needs an integer matrix and GONNET1992"),
        ("auto", {"matrix": "auto", "gap_open": 0, "gap_extend": "auto"}, r"got 0 < 1"),
        # 'auto' gaps of a DNA run are 16/6: gap_open 5 fails only for nucleotide input
        ("nucleotide", {"matrix": "auto", "gap_open": 5, "gap_extend": "auto"}, r"got 5 < 6"),
        ("protein", {"matrix": "NUC.4.4"}, "is a nucleotide matrix but sequences.alphabet is"),
    ],
)
def test_scoring_settings_that_would_fail_in_the_alignment_stop_at_start_up(
    alphabet, alignment, message
):
    with pytest.raises(InputError, match=message):
        check_scoring_settings(settings(alphabet, **alignment))


@pytest.mark.parametrize(
    ("alphabet", "alignment"),
    [
        ("auto", {"matrix": "auto", "gap_open": "auto", "gap_extend": "auto"}),
        ("protein", {"matrix": "auto", "gap_open": 5, "gap_extend": "auto"}),
        ("auto", {"matrix": "PAM250"}),
        ("auto", {"matrix": "GONNET1992", "engine": "biopython"}),
        ("auto", {"matrix": "auto", "gap_open": 0, "gap_extend": 0, "engine": "biopython"}),
    ],
)
def test_usable_scoring_settings_pass_the_start_up_check(alphabet, alignment):
    check_scoring_settings(settings(alphabet, **alignment))


def test_sequences_near_max_length_score_exactly():
    # 9,990 residues, just under the default qc.max_length: no score overflow in pyopal's SIMD lanes.
    long_w = "W" * 9990
    scores = score_block([long_w, "WWWW"], [long_w, "WWWW"], True, threads=2)
    assert scores.tolist() == [[11.0 * 9990, 44.0], [44.0, 44.0]]


def test_shuffled_keeps_the_residues_and_depends_on_the_sequence_only():
    from medflow.sequences.align import shuffled

    seq = "MKTAYIAKQRQISFVKSHFSRQ"
    assert sorted(shuffled(seq)) == sorted(seq) and shuffled(seq) != seq
    assert shuffled(seq) == shuffled(seq) and shuffled(seq) != shuffled(seq + "A")[:-1]


def test_shuffle_control_tells_composition_from_kinship():
    """Unrelated cysteine-rich sequences hit each other about as often shuffled (composition);
    members of one family (half their residues changed) hit each other, their shuffles barely."""
    from medflow.sequences.align import ShuffleControl
    from medflow.sequences.cluster import SHUFFLE_FOLD
    from medflow.sequences.io import PROTEIN
    from medflow.sequences.simulate import BACKGROUND
    from medflow.sequences.stats import karlin_altschul

    stats, scoring = (
        karlin_altschul("BLOSUM62", 11, 1),
        Scoring("pyopal", "BLOSUM62", "local", 11, 1),
    )
    rng = np.random.default_rng(5)
    rich = BACKGROUND.copy()
    rich[PROTEIN.index("C")] = 0.25
    cysteine_rich = ["".join(rng.choice(list(PROTEIN), 60, p=rich / rich.sum())) for _ in range(8)]
    ancestor = rng.choice(20, 50, p=BACKGROUND)
    family = []
    for _ in range(8):
        member = ancestor.copy()
        changed = rng.random(member.size) < 0.55
        member[changed] = rng.choice(20, changed.sum(), p=BACKGROUND)
        family.append("".join(PROTEIN[k] for k in member))
    first, second = np.arange(4), np.arange(4, 8)
    for seqs, kin in ((cysteine_rich, False), (family, True)):
        lengths = np.array([len(seq) for seq in seqs], dtype=float)
        scores = engine_block(seqs[:4], seqs[4:], False, scoring)
        real = int((stats.evalues(scores, lengths[:4, None], lengths[None, 4:], 8) < 1).sum())
        control = ShuffleControl(seqs, stats, scoring)(first, second)
        assert real > 0
        assert (real >= SHUFFLE_FOLD * max(control, 1)) is kin, (real, control)


def test_nucleotide_pairs_score_on_both_strands():
    """A reversed copy scores as the record itself on both strands, barely at all on the given one;
    from_settings turns both strands on for nucleotide matrices only, and `strand: plus` off."""
    from medflow.sequences.io import reverse_complement

    rng = np.random.default_rng(3)
    seqs = ["".join(rng.choice(list("ACGT"), 120)) for _ in range(5)]
    seqs.append(reverse_complement(seqs[0]))
    settings = {"engine": "pyopal", "mode": "local", "gap_open": "auto", "gap_extend": "auto"}
    both = Scoring.from_settings(settings, "NUC.4.4")
    assert (both.strand, both.gap_open, both.gap_extend) == ("both", 16, 6)
    assert Scoring.from_settings({**settings, "strand": "plus"}, "NUC.4.4").strand == "plus"
    assert Scoring.from_settings(settings, "BLOSUM62").strand == "plus"
    scores = engine_block(seqs, seqs, True, both, 2)
    plus = engine_block(seqs, seqs, True, replace(both, strand="plus"), 2)
    assert scores[0, 5] == scores[5, 0] == plus[0, 0] == 5 * 120 > 4 * plus[0, 5]
    np.testing.assert_array_equal(np.diag(scores), np.diag(plus))
    # Off the diagonal: the better of the given strand and the reverse complement, pair by pair.
    other = engine_block(
        seqs, [reverse_complement(s) for s in seqs], False, replace(both, strand="plus")
    )
    expected = np.maximum(plus, other)
    np.fill_diagonal(expected, np.diag(plus))
    np.testing.assert_array_equal(scores, expected)
    np.testing.assert_array_equal(engine_block(seqs[:2], seqs[2:], False, both), expected[:2, 2:])


def test_every_nucleotide_matrix_scores_complements_alike():
    """both_strands' diagonal block relies on it: S(x, y) == S(complement x, complement y)."""
    from Bio.Align import substitution_matrices

    from medflow.sequences.io import COMPLEMENT, matrix_kind

    checked = 0
    for name in substitution_matrices.load():
        matrix = substitution_matrices.load(name)
        letters = matrix.alphabet
        if not all(len(x) == 1 for x in letters) or matrix_kind(name) != "nucleotide":
            continue  # protein, or codons (SCHNEIDER), which medflow cannot align letter by letter
        for x in letters:
            for y in letters:
                assert matrix[x][y] == matrix[x.translate(COMPLEMENT)][y.translate(COMPLEMENT)]
        checked += 1
    assert checked >= 4  # NUC.4.4, BLASTN, MEGABLAST, HOXD70, TRANS


def test_a_block_that_does_not_exist_is_refused():
    assert block_bounds(199, 100, 1) == (100, 199)
    for block in (2, -1):
        with pytest.raises(
            InputError,
            match=r"block .* does not exist: 199 sequences in blocks of 100 make blocks 0 to 1",
        ):
            block_bounds(199, 100, block)
