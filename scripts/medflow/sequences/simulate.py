"""Simulated protein (or DNA) families evolved along random trees (BLOSUM62 model + indels), as hard as
real ones.

Each family starts from its own random ancestor, its residues drawn with the background
frequencies of real proteins (Robinson & Robinson 1991, as BLAST's statistics assume). A random
binary tree is grown by splitting a random leaf until the family has its members; along each branch
of length b (substitutions per site), every site changes with probability 1 - exp(-b) from a to a
residue b drawn with probability proportional to p_b 2^(S(a,b)/2): BLOSUM62's target frequencies
(its half-bit log-odds S turned back into q_ab = p_a p_b 2^(S/2)) given a. Insertions (background
residues) or deletions of geometric length occur at `indel_rate` events per site per unit of branch
length. Uniform residues, as drawn before, made unrelated families score like distant relatives
(one pair in 20 had E < 1, where chance gives 1 in n).

Real families are uneven, so: each family's divergence is `divergence` times a log-normal factor
(sigma `divergence_spread`), each branch's length is exponential around the family's mean, and a
`fragment_fraction` of the members is cut to a random 35-80% window of its sequence (domain
fragments). Records are shuffled and given opaque IDs; the labels table maps each ID to its family.

`alphabet` nucleotide evolves DNA instead: equal base frequencies and Kimura's two-parameter model
(a change is a transition with probability kappa / (kappa + 2), kappa = 2, as in many real genes);
a `reverse_fraction` of the members is written as its reverse complement, as sequences pulled from
different genomes or reads come in either orientation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from medflow.sequences.io import NUCLEOTIDE, PROTEIN, matrix_array, reverse_complement
from medflow.sequences.stats import BACKGROUND

KAPPA = 2.0  # transition/transversion rate ratio of the DNA model


def residues(count: int, rng, letters: str = PROTEIN) -> np.ndarray:
    """`count` residue indices: protein ones with the background frequencies, bases uniformly."""
    if letters == NUCLEOTIDE:
        return rng.integers(0, 4, size=count)
    return rng.choice(len(PROTEIN), size=count, p=BACKGROUND)


def substitution_cdf() -> np.ndarray:
    """Row-wise cumulative P(new residue b | old residue a) ~ p_b 2^(S(a,b)/2) from BLOSUM62,
    self-changes excluded."""
    alphabet, scores = matrix_array("BLOSUM62")
    index = [alphabet.index(a) for a in PROTEIN]
    odds = BACKGROUND[None, :] * np.power(2.0, scores[np.ix_(index, index)] / 2.0)
    np.fill_diagonal(odds, 0.0)
    probs = odds / odds.sum(axis=1, keepdims=True)
    return np.cumsum(probs, axis=1)


def substitute(old: np.ndarray, cdf: np.ndarray | None, rng) -> np.ndarray:
    """New residues for the changed sites: from BLOSUM62's targets (`cdf`), or for DNA (`cdf`
    None) by Kimura's model on indices A0 C1 G2 T3, where x ^ 2 is x's transition partner and x ^ 1,
    x ^ 3 its two transversions."""
    draws = rng.random(old.size)
    if cdf is None:
        transition = draws < KAPPA / (KAPPA + 2.0)
        return np.where(
            transition, old ^ 2, np.where(draws < (KAPPA + 1.0) / (KAPPA + 2.0), old ^ 1, old ^ 3)
        )
    return np.minimum((cdf[old] < draws[:, None]).sum(axis=1), len(PROTEIN) - 1)


def evolve(
    seq: np.ndarray, branch: float, indel_rate: float, cdf: np.ndarray | None, rng
) -> np.ndarray:
    """One branch of evolution: substitutions, then indels, on residue indices (DNA: `cdf` None)."""
    seq = seq.copy()
    letters = NUCLEOTIDE if cdf is None else PROTEIN
    changed = np.flatnonzero(rng.random(seq.size) < 1.0 - math.exp(-branch))
    seq[changed] = substitute(seq[changed], cdf, rng)
    for _ in range(rng.poisson(indel_rate * branch * seq.size)):
        length, where = int(rng.geometric(0.5)), int(rng.integers(0, seq.size + 1))
        if rng.random() < 0.5:
            seq = np.insert(seq, where, residues(length, rng, letters))
        elif seq.size > length + 10:
            seq = np.delete(seq, np.arange(where, min(where + length, seq.size)))
    return seq


def fragment(seq: np.ndarray, rng) -> np.ndarray:
    """A random window of 35-80% of the sequence (at least 20 residues)."""
    size = min(seq.size, max(20, int(seq.size * rng.uniform(0.35, 0.8))))
    start = int(rng.integers(0, seq.size - size + 1))
    return seq[start : start + size]


def simulate_family(
    members: int, length: int, divergence: float, indel_rate: float, cdf, rng
) -> list[np.ndarray]:
    """Members of one family: leaves of a random tree grown from a random ancestor (DNA: `cdf`
    None)."""
    letters = NUCLEOTIDE if cdf is None else PROTEIN
    ancestor = residues(int(rng.integers(0.8 * length, 1.2 * length + 1)), rng, letters)
    mean_depth = 2.0 * sum(1.0 / k for k in range(2, members + 1))  # leaf depth of a Yule tree
    mean_branch = divergence / max(1.0, mean_depth)
    leaves = [ancestor]
    while len(leaves) < members:
        parent = leaves.pop(int(rng.integers(0, len(leaves))))
        for _ in range(2):
            leaves.append(evolve(parent, rng.exponential(mean_branch), indel_rate, cdf, rng))
    return leaves


def simulate(
    *,
    families: int,
    members: int,
    length: int,
    divergence: float,
    indel_rate: float,
    divergence_spread: float,
    fragment_fraction: float,
    seed: int,
    alphabet: str = "protein",
    reverse_fraction: float = 0.0,
) -> tuple[list[tuple[str, str]], pd.DataFrame]:
    """All families, shuffled, with IDs seq0001...; returns (records, labels table)."""
    rng = np.random.default_rng(seed)
    cdf, letters = (None, NUCLEOTIDE) if alphabet == "nucleotide" else (substitution_cdf(), PROTEIN)
    pool = []
    for family in range(1, families + 1):
        family_divergence = divergence * math.exp(divergence_spread * rng.standard_normal())
        for leaf in simulate_family(members, length, family_divergence, indel_rate, cdf, rng):
            if fragment_fraction and rng.random() < fragment_fraction:
                leaf = fragment(leaf, rng)
            seq = "".join(letters[i] for i in leaf)
            if cdf is None and reverse_fraction and rng.random() < reverse_fraction:
                seq = reverse_complement(seq)
            pool.append((f"family{family:02d}", seq))
    width = max(4, len(str(len(pool))))
    order = rng.permutation(len(pool))
    records = [(f"seq{i + 1:0{width}d}", pool[k][1]) for i, k in enumerate(order)]
    labels = pd.DataFrame(
        {"id": [r[0] for r in records], "group": [pool[k][0] for k in order]}
    ).sort_values("id")
    return records, labels
