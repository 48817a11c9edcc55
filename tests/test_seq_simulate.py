"""The example generator: deterministic for a seed, families of the asked size, valid proteins."""

import numpy as np

from medflow.config import fill_and_validate
from medflow.sequences.io import PROTEIN
from medflow.sequences.simulate import simulate, substitution_cdf


def example(**changes) -> dict:
    """The example's settings: the schema's defaults with some changed."""
    return {**fill_and_validate({})["sequences"]["example"], **changes}


def sim(families, members, length, divergence, indel_rate, seed, **changes):
    settings = example(
        families=families, members=members, length=length, divergence=divergence,
        indel_rate=indel_rate, **changes,
    )  # fmt: skip
    return simulate(**settings, seed=seed)


def test_same_seed_same_output_other_seed_differs():
    first, labels = sim(3, 5, 50, 0.4, 0.05, seed=1)
    second, labels2 = sim(3, 5, 50, 0.4, 0.05, seed=1)
    third, _ = sim(3, 5, 50, 0.4, 0.05, seed=2)
    assert first == second and labels.equals(labels2)
    assert first != third


def test_families_sizes_and_alphabet():
    records, labels = sim(4, 7, 60, 0.4, 0.05, seed=3)
    assert len(records) == 28 and len({r[0] for r in records}) == 28
    assert labels["group"].value_counts().tolist() == [7, 7, 7, 7]
    assert all(set(seq) <= set(PROTEIN) for _, seq in records)
    assert sorted(labels["id"]) == sorted(r[0] for r in records)


def test_substitutions_follow_blosum62():
    cdf = substitution_cdf()
    assert np.allclose(cdf[:, -1], 1.0)
    probs = np.diff(cdf, prepend=0.0, axis=1)
    i, v, w = PROTEIN.index("I"), PROTEIN.index("V"), PROTEIN.index("W")
    assert probs[i, i] == 0.0
    assert probs[i, v] > 5 * probs[i, w]  # BLOSUM62: I->V +3, I->W -3


def test_zero_divergence_keeps_the_family_identical():
    records, labels = sim(2, 4, 50, 0.0, 0.0, seed=5, fragment_fraction=0.0)
    group_of = labels.set_index("id")["group"]
    by_family = {}
    for rid, seq in records:
        by_family.setdefault(group_of[rid], set()).add(seq)
    assert sorted(len(seqs) for seqs in by_family.values()) == [1, 1]


def test_fragments_and_uneven_divergence():
    records, _ = sim(6, 20, 150, 0.6, 0.05, seed=9, fragment_fraction=0.3, divergence_spread=0.8)
    lengths = np.array([len(seq) for _, seq in records])
    assert (lengths < 0.8 * 0.8 * 150).sum() >= 0.15 * len(records)  # fragments
    assert lengths.min() >= 20
    even, _ = sim(6, 20, 150, 0.6, 0.05, seed=9, fragment_fraction=0.0, divergence_spread=0.0)
    assert min(len(seq) for _, seq in even) > 0.5 * 150


def test_dna_families_follow_kimuras_model_and_some_are_reversed():
    """Nucleotide: A/C/G/T only, transitions about kappa/(kappa+2) = half of the changes, and the
    reversed members are their family's other strand (their reverse complement aligns better)."""
    from medflow.sequences.io import NUCLEOTIDE, reverse_complement
    from medflow.sequences.simulate import KAPPA, substitute

    rng = np.random.default_rng(0)
    old = rng.integers(0, 4, 20_000)
    new = substitute(old, None, rng)
    assert (new != old).all()
    transitions = ((old ^ new) == 2).mean()
    assert abs(transitions - KAPPA / (KAPPA + 2)) < 0.02
    records, labels = sim(3, 10, 200, 0.0, 0.0, seed=4, alphabet="nucleotide",
                          fragment_fraction=0.0, reverse_fraction=0.5)  # fmt: skip
    assert all(set(seq) <= set(NUCLEOTIDE) for _, seq in records)
    group_of = labels.set_index("id")["group"]
    strands = {}
    for rid, seq in records:  # no divergence: one sequence per family, given or reversed
        strands.setdefault(group_of[rid], set()).add(seq)
    assert sum(len(s) == 2 for s in strands.values()) >= 2
    for seqs in strands.values():
        first = sorted(seqs)[0]
        assert seqs <= {first, reverse_complement(first)}


def test_reverse_fraction_applies_to_dna_only():
    """A protein run ignores reverse_fraction and draws the same families."""
    plain, _ = sim(3, 5, 50, 0.4, 0.05, seed=1)
    with_options, _ = sim(3, 5, 50, 0.4, 0.05, seed=1, reverse_fraction=0.5)
    assert plain == with_options
