"""The sparse path for large inputs: the k-mer prefilter finds the related pairs, the sparse
clustering agrees with the dense one, nothing holds an n x n array, and the workflow runs it
(locally and through SLURM) when the input is above sequences.alignment.sparse_above."""

import json
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import CONFIGS, run_workflow, snakemake_cmd
from sklearn.metrics import adjusted_rand_score

from medflow.config import fill_and_validate
from medflow.sequences import cluster, sparse
from medflow.sequences.align import Scoring, score_block
from medflow.sequences.cluster import significance_cut
from medflow.sequences.simulate import simulate
from medflow.sequences.stats import karlin_altschul
from medflow.step import InputError

ALIGN = Scoring("pyopal", "BLOSUM62", "local", gap_open=11, gap_extend=1)
STATS = karlin_altschul("BLOSUM62", 11, 1)


def families(count: int, members: int, seed: int = 3) -> tuple[list[str], np.ndarray]:
    records, table = simulate(
        families=count,
        members=members,
        length=120,
        divergence=0.4,
        indel_rate=0.05,
        divergence_spread=0.5,
        fragment_fraction=0.2,
        seed=seed,
    )
    group = dict(zip(table["id"], table["group"], strict=True))
    return [seq for _, seq in records], np.array([group[name] for name, _ in records])


def pairs_once(i, j, scores, n):
    keep = i != j
    lo, hi = np.minimum(i[keep], j[keep]), np.maximum(i[keep], j[keep])
    key, first = np.unique(lo * n + hi, return_index=True)
    return key // n, key % n, scores[keep][first].astype(float)


def test_prefilter_finds_the_significant_pairs_of_simulated_families():
    """Recall: the candidates hold most pairs that the full alignment finds significant, and every
    sequence with a significant partner gets at least one as a candidate."""
    seqs, truth = families(8, 30)
    n = len(seqs)
    full = score_block(seqs, seqs, True, ALIGN)
    lengths = np.array([len(s) for s in seqs], dtype=float)
    evalues = STATS.evalues(full, lengths[:, None], lengths[None, :], n)
    np.fill_diagonal(evalues, np.inf)
    significant = set(zip(*np.nonzero(np.triu(evalues < 1e-3)), strict=True))
    i, j = sparse.candidates(sparse.KmerIndex(seqs), 0, n, top=20)
    proposed = {(min(a, b), max(a, b)) for a, b in zip(i.tolist(), j.tolist(), strict=True)}
    recall = len(significant & proposed) / len(significant)
    assert recall >= 0.6, recall
    partnered = {a for pair in significant for a in pair}
    found = {a for pair in significant & proposed for a in pair}
    assert len(found) >= 0.97 * len(partnered)
    same = truth[i[i != j]] == truth[j[i != j]]
    assert same.mean() >= 0.5  # most candidates are family members (top 20 of 240)
    assert (i == j).sum() == n  # every self pair, for the self-scores


def test_best_targets_come_nearest_first():
    seqs, _ = families(4, 15)
    index = sparse.KmerIndex(seqs)
    i, j = index.best_targets(np.arange(len(seqs)), 12)
    shared = np.asarray(index.kmers[i].multiply(index.kmers[j]).sum(axis=1)).ravel()
    cosine = shared / np.sqrt(index.sizes[i] * index.sizes[j] + 1.0)
    same_query = np.diff(i) == 0
    assert (np.diff(cosine)[same_query] <= 1e-6).all()
    assert sparse.ranks(i).max() == 11


def test_ranks_count_places_within_each_query():
    assert sparse.ranks(np.array([0, 0, 0, 2, 2, 5])).tolist() == [0, 1, 2, 0, 1, 0]
    assert sparse.ranks(np.zeros(0, dtype=int)).size == 0


def test_kmer_matrix_holds_each_sequences_reduced_kmers_once():
    """Row s of the matrix is the set of 4-mers of sequence s in the Murphy alphabet: windows with
    a letter outside it (X, a stray byte) and sequences shorter than 4 have none, case does not
    matter, and no window spans two sequences. Checked through the shared k-mers of every two
    rows, which must be those of the sets (one column per k-mer across rows)."""
    group = {
        letter: str(code) for code, letters in enumerate(sparse.MURPHY10) for letter in letters
    }
    rng = np.random.default_rng(4)
    letters = list("ACDEFGHIKLMNPQRSTVWYX")
    seqs = ["".join(rng.choice(letters, rng.integers(0, 40))) for _ in range(60)]
    seqs += ["MKV", "mkvlaag", "MKVLAAG", "MKV\u00e9LAAGX", "", "AAAA"]

    def words(seq: str) -> set[str]:
        coded = [group.get(letter.upper(), "?") for letter in seq]
        return {"".join(coded[k : k + 4]) for k in range(len(coded) - 3)}

    sets = [{word for word in words(seq) if "?" not in word} for seq in seqs]
    matrix = sparse.kmer_matrix(seqs)
    assert matrix.shape[0] == len(seqs) and (matrix.data == 1).all()
    shared = (matrix @ matrix.T).toarray()
    expected = np.array([[len(a & b) for b in sets] for a in sets])
    assert np.array_equal(shared, expected)
    assert [len(s) for s in sets[-6:]] == [0, 4, 4, 1, 0, 1]  # MKV?LAAGX keeps LAAG alone


def test_dna_kmers_are_canonical_so_both_strands_share_them():
    """With `canonical`, a DNA sequence and its reverse complement have the same k-mer row (each
    k-mer is the lesser of itself and its reverse complement; U reads as T, N ends a window);
    without it they share only the palindromic k-mers, and another sequence shares few."""
    from medflow.sequences.io import reverse_complement

    rng = np.random.default_rng(5)
    seq = "".join(rng.choice(list("ACGT"), 200))
    other = "".join(rng.choice(list("ACGT"), 200))
    seqs = [seq, reverse_complement(seq), seq.replace("T", "U").lower(), other, seq[:50] + "N"]
    k, groups = sparse.K_NUCLEOTIDE, sparse.NUCLEOTIDES
    rows = sparse.kmer_matrix(seqs, k, groups, canonical=True).toarray()
    assert (rows[0] == rows[1]).all() and (rows[0] == rows[2]).all()
    assert rows[0].sum() == len(
        {min(seq[p : p + k], reverse_complement(seq[p : p + k])) for p in range(200 - k + 1)}
    )
    assert (rows[0] * rows[3]).sum() < 0.2 * rows[0].sum()
    assert rows[4].sum() == len(
        {min(seq[p : p + k], reverse_complement(seq[p : p + k])) for p in range(50 - k + 1)}
    )
    plain = sparse.kmer_matrix(seqs, k, groups).toarray()
    assert (plain[0] * plain[1]).sum() < 0.2 * plain[0].sum()


def test_dna_pairs_score_their_better_strand_as_the_dense_path_does():
    """score_pairs with strand 'both' gives each pair the score score_block gives it (the better of
    the two strands), self pairs their own strand's; a member given as its reverse complement
    scores far higher than on the plus strand alone."""
    from dataclasses import replace

    from medflow.sequences.io import reverse_complement

    records, _ = simulate(
        families=2,
        members=5,
        length=150,
        divergence=0.2,
        indel_rate=0.02,
        divergence_spread=0.0,
        fragment_fraction=0.0,
        seed=4,
        alphabet="nucleotide",
    )
    seqs = [seq for _, seq in records]
    seqs[1] = reverse_complement(seqs[1])
    n = len(seqs)
    both = Scoring("pyopal", "NUC.4.4", "local", gap_open=16, gap_extend=6, strand="both")
    i, j = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    scores = sparse.score_pairs(seqs, i, j, both, threads=2).reshape(n, n)
    assert np.array_equal(scores, score_block(seqs, seqs, True, both, show=False))
    assert np.array_equal(np.diag(scores), [5.0 * len(seq) for seq in seqs])
    plus = sparse.score_pairs(seqs, i, j, replace(both, strand="plus")).reshape(n, n)
    assert (scores >= plus).all() and (scores[1] > plus[1]).sum() >= 3


def test_distinct_is_numpys_unique():
    rng = np.random.default_rng(2)
    for values in (rng.integers(0, 10**12, 5000), rng.integers(0, 5, 50), np.zeros(0, int)):
        assert np.array_equal(sparse.distinct(values), np.unique(values))


def test_among_agrees_with_isin():
    rng = np.random.default_rng(1)
    values, table = rng.integers(0, 50, 200), rng.integers(0, 50, 30)
    assert (sparse.among(values, table) == np.isin(values, table)).all()
    assert not sparse.among(values, table[:0]).any()
    # keys spread far wider than LOOKUP_BYTES take the binary search instead of the lookup table
    wide = rng.integers(0, 10**12, 300)
    values = np.r_[wide[:100], rng.integers(0, 10**12, 200)]
    assert (sparse.among(values, wide) == np.isin(values, wide)).all()
    assert sparse.among(values, wide)[:100].all()


def test_unsettled_queries_have_few_hits_or_few_misses_among_their_first_targets():
    """First 4 targets of each query: 0 has 2 hits and 2 misses (settled); 1 has 1 hit (not
    placed yet); 2 has 4 hits of 4 (its family may go on); 3's hits lie beyond its first 4."""
    n = 20
    i = np.repeat([0, 1, 2, 3], 6)
    j = np.tile(np.arange(6, 12), 4)
    hits = [(0, 6), (0, 7), (1, 6), (2, 6), (2, 7), (2, 8), (2, 9), (3, 10), (3, 11)]
    significant = np.sort([min(a, b) * n + max(a, b) for a, b in hits])
    queries = np.arange(4)
    assert sparse.unsettled(i, j, 4, significant, queries, n, few=2).tolist() == [1, 2, 3]
    assert sparse.unsettled(i, j, 4, significant, queries, n, few=1).tolist() == [2, 3]
    assert sparse.unsettled(i, j, 4, significant, queries[:2], n, few=2).tolist() == [1]


def test_deeper_candidates_are_the_rest_of_the_unsettled_queries_targets():
    i, j = np.array([0, 0, 0, 1, 1, 1]), np.array([4, 5, 6, 4, 6, 2])
    scored_i, scored_j = np.array([0, 6]), np.array([4, 1])  # (1, 6) scored as (6, 1) already
    di, dj = sparse.deeper_candidates(i, j, np.array([1]), scored_i, scored_j, 1)
    assert list(zip(di.tolist(), dj.tolist(), strict=True)) == [(1, 2)]
    di, dj = sparse.deeper_candidates(i, j, np.array([0, 1]), scored_i, scored_j, 1)
    assert list(zip(di.tolist(), dj.tolist(), strict=True)) == [(0, 5), (0, 6), (1, 2)]


def test_deeper_search_gives_the_clusters_of_all_candidates_with_fewer_alignments(monkeypatch):
    """Families of 8: a first search of 20 settles most queries (hits among the first 20, and
    misses: the family ends there); the others search all 60 candidates. The clusters are as good
    as those of all 60 candidates for every query (here better: fewer chance hits join two
    families), for fewer alignments."""
    seqs, truth = families(15, 8, seed=11)
    n = len(seqs)
    lengths = np.array([len(s) for s in seqs], dtype=float)
    monkeypatch.setattr(sparse, "TOP", 60)
    monkeypatch.setattr(sparse, "FEW_HITS", 3)
    found = {}
    for first in (60, 20):
        monkeypatch.setattr(sparse, "FIRST_TOP", first)
        i, j, scores, searched = sparse.scored_pairs(seqs, 0, n, ALIGN, STATS, 1e-3)
        a, b, s = pairs_once(i, j, scores, n)
        found[first] = (sparse.significance_cut_sparse(a, b, s, lengths, STATS, 1e-3)[0], i.size)
    assert 0 < searched["searched_deeper"] < n
    assert found[20][1] < 0.8 * found[60][1]
    whole, first = (adjusted_rand_score(truth, found[k][0]) for k in (60, 20))
    assert first >= whole and first >= 0.9, (whole, first)
    assert adjusted_rand_score(truth, found[20][0]) >= 0.9


def test_once_within_keeps_one_copy_of_pairs_both_queries_proposed():
    """(2, 1) goes because (1, 2) is there and both are queries of the block; (3, 0) stays: 0 is
    outside the block, whose job cannot know 0's candidates; self pairs stay."""
    i = np.array([1, 2, 2, 3, 1, 3])
    j = np.array([2, 1, 3, 0, 1, 2])
    kept_i, kept_j = sparse.once_within(i, j, 1, 4)
    assert sorted(zip(kept_i.tolist(), kept_j.tolist(), strict=True)) == [
        (1, 1),
        (1, 2),
        (2, 3),
        (3, 0),
    ]


def test_pairs_to_complete_are_the_unscored_pairs_between_clusters_dense_in_weak_hits():
    """Clusters {0..4} and {5..14}: 3 of their 8 scored pairs are hits with E < 1, which looks
    dense, but 3 of all 50 pairs is under DENSE_SHARE: the 42 unscored ones are to be aligned.
    Cluster {15, 16}'s scored pairs into {5..14} hold no hit: nothing to complete there."""
    labels = np.r_[[1] * 5, [2] * 10, [3] * 2]
    scored = [(0, 5, 0.5), (1, 6, 0.5), (2, 7, 0.5), (3, 8, 5.0), (4, 9, 5.0)]
    scored += [(0, 10, 5.0), (1, 11, 5.0), (2, 12, 5.0), (5, 15, 5.0), (6, 16, 5.0)]
    i, j, e = (np.array(column) for column in zip(*scored, strict=True))
    more_i, more_j = sparse.pairs_to_complete(labels, i, j, e, budget=42)
    done = {(a, b) for a, b, _ in scored}
    expected = [(a, b) for a in range(5) for b in range(5, 15) if (a, b) not in done]
    assert list(zip(more_i.tolist(), more_j.tolist(), strict=True)) == expected
    assert len(expected) == 42
    assert sparse.pairs_to_complete(labels, i, j, e, budget=41)[0].size == 0  # over budget


def test_nearest_pairs_are_first_candidates_unsorted():
    """Queries 0-2 of 4, ranked best first: their first 2 targets, self pairs, one copy each."""
    i = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    j = np.array([1, 3, 2, 0, 2, 3, 3, 1, 0])
    first = sparse.first_candidates(i, j, 0, 3, 2)
    kept_i, kept_j = sparse.nearest_pairs(i, j, 0, 3, 2)
    pairs = sorted(zip(kept_i.tolist(), kept_j.tolist(), strict=True))
    assert pairs == list(zip(first[0].tolist(), first[1].tolist(), strict=True))
    assert pairs == [(0, 0), (0, 1), (0, 3), (1, 1), (1, 2), (2, 2), (2, 3)]


def test_loners_are_the_queries_without_a_significant_scored_partner():
    lengths = np.full(4, 100.0)
    strong, weak = 200.0, 20.0  # E far below 1e-3, and far above
    i, j = np.array([0, 1, 2, 3]), np.array([1, 0, 3, 3])
    scores = np.array([strong, strong, weak, 500.0])  # (3, 3) is a self-score: never a partner
    assert sparse.loners(i, j, scores, lengths, np.arange(4), STATS, 1e-3).tolist() == [2, 3]
    assert sparse.loners(i, j, scores, lengths, np.arange(1, 3), STATS, 1e-3).tolist() == [2]


def test_rescue_searches_every_target_of_a_loner_once_within_budget():
    seqs, _ = families(3, 10)
    n = len(seqs)
    index = sparse.KmerIndex(seqs)
    i, j = np.array([0, 0, 5]), np.array([0, 7, 0])  # already scored: (0, 0), (0, 7), (5, 0)
    ri, rj = sparse.rescue_candidates(index, np.array([0, 5]), i, j, budget=2 * n)
    pairs = {(min(a, b), max(a, b)) for a, b in zip(ri.tolist(), rj.tolist(), strict=True)}
    expected = {(min(q, t), max(q, t)) for q in (0, 5) for t in range(n) if t != q}
    assert pairs == expected - {(0, 7), (0, 5)} and len(pairs) == ri.size
    # a small budget keeps the best TOP targets by k-mers (TOP > n here: all again)
    assert sparse.rescue_candidates(index, np.array([3]), i, j, budget=1)[0].size == n - 1
    assert sparse.rescue_candidates(index, np.array([], dtype=int), i, j, budget=10)[0].size == 0


def test_rescue_finds_a_family_member_the_prefilter_missed():
    """With two candidates per query, members of divergent families find no significant partner;
    the rescue searches them again, and the queries still alone are exactly those that all pairs
    leave alone."""
    records, _ = simulate(
        families=6,
        members=20,
        length=120,
        divergence=0.7,
        indel_rate=0.05,
        divergence_spread=0.5,
        fragment_fraction=0.3,
        seed=3,
    )
    seqs = [seq for _, seq in records]
    n = len(seqs)
    lengths = np.array([len(s) for s in seqs], dtype=float)
    index = sparse.KmerIndex(seqs)
    i, j = sparse.candidates(index, 0, n, top=2)
    scores = sparse.score_pairs(seqs, i, j, ALIGN)
    lonely = sparse.loners(i, j, scores, lengths, np.arange(n), STATS, 1e-3)
    ri, rj = sparse.rescue_candidates(index, lonely, i, j, budget=i.size)
    more = sparse.score_pairs(seqs, ri, rj, ALIGN)
    i, j, scores = np.r_[i, ri], np.r_[j, rj], np.r_[scores, more]
    after = sparse.loners(i, j, scores, lengths, np.arange(n), STATS, 1e-3)
    full = score_block(seqs, seqs, True, ALIGN)
    evalues = STATS.evalues(full, lengths[:, None], lengths[None, :], n)
    np.fill_diagonal(evalues, np.inf)
    alone = np.flatnonzero((evalues >= 1e-3).all(axis=1))
    assert lonely.size > after.size and after.tolist() == alone.tolist()


def test_each_query_aligns_its_longest_targets_first():
    i = np.array([0, 0, 0, 2, 2])
    j = np.array([1, 2, 3, 0, 3])
    lengths = np.array([10, 30, 20, 30])
    order = sparse.longest_targets_first(i, j, lengths)
    assert order.tolist() == [0, 2, 1, 4, 3]  # query 0: 30 (j=1), 30 (j=3), 20; query 2: 30, 10


def test_sparse_and_dense_paths_recover_the_same_families():
    seqs, truth = families(8, 25, seed=5)
    lengths = np.array([len(s) for s in seqs], dtype=float)
    full = score_block(seqs, seqs, True, ALIGN)
    dense, _, _ = significance_cut(full, lengths, STATS, 1e-3)
    i, j = sparse.candidates(sparse.KmerIndex(seqs), 0, len(seqs), top=20)
    scores = sparse.score_pairs(seqs, i, j, ALIGN)
    a, b, s = pairs_once(i, j, scores, len(seqs))
    found, facts, _ = sparse.significance_cut_sparse(a, b, s, lengths, STATS, 1e-3)
    assert facts["path"] == "sparse" and facts["scored_pairs"] < len(seqs) ** 2 / 4
    assert np.allclose(s, full[a, b])  # the same exact scores, only fewer
    dense_ari, sparse_ari = adjusted_rand_score(truth, dense), adjusted_rand_score(truth, found)
    assert dense_ari >= 0.9 and sparse_ari >= dense_ari - 0.05, (dense_ari, sparse_ari)
    assert adjusted_rand_score(dense, found) >= 0.9


def test_cluster_sparse_aligns_the_missing_pairs_a_weak_hit_join_needs(monkeypatch):
    """A family of 40-residue domains that significant hits leave in two groups, joined by its
    weak hits when every pair is scored. With only a quarter of the pairs between the two groups
    scored, the sparse path aligns the rest and finds the one family; without them it keeps two."""
    records, table = simulate(
        families=3,
        members=30,
        length=40,
        divergence=0.7,
        indel_rate=0.02,
        divergence_spread=0.0,
        fragment_fraction=0.0,
        seed=4,
    )
    family = dict(zip(table["id"], table["group"], strict=True))
    seqs, truth = [seq for _, seq in records], np.array([family[name] for name, _ in records])
    n, full = len(seqs), score_block(seqs, seqs, True, ALIGN)
    i, j = np.triu_indices(n, 1)
    lengths = np.array([len(seq) for seq in seqs], dtype=float)
    evalues = STATS.evalues(full[i, j], lengths[i], lengths[j], n)
    weak = evalues < 1
    with monkeypatch.context() as patch:
        patch.setattr(cluster, "DENSE_SHARE", 10.0)  # no join on weak hits: the two groups
        split, _, _ = cluster.significance_cut_pairs(n, i[weak], j[weak], evalues[weak], 1e-3)
    between = (split[i] != split[j]) & (truth[i] == truth[j])
    assert between.sum() > 40 and adjusted_rand_score(truth, split) < 1
    keep = ~between | (np.arange(i.size) % 4 == 0)
    pairs = (i[keep], j[keep], full[i[keep], j[keep]], np.diag(full).copy())
    # the raw E-values above decided the split: the cut must read the same ones
    raw = {"sequences": {"clustering": {"composition_adjustment": False}}}
    sequences = fill_and_validate(raw)["sequences"]
    found = sparse.cluster_sparse(pairs, seqs, sequences, "BLOSUM62")
    assert found.facts["pairs_completed"] == between.sum() - (between & keep).sum()
    assert adjusted_rand_score(truth, found.labels) == 1.0
    monkeypatch.setattr(sparse, "COMPLETE_SHARE", 10**9)  # no budget: nothing aligned
    kept_apart = sparse.cluster_sparse(pairs, seqs, sequences, "BLOSUM62")
    assert kept_apart.facts["pairs_completed"] == 0
    assert adjusted_rand_score(truth, kept_apart.labels) < 1


def sparse_run_peak(seqs: list[str], tmp_path) -> tuple[int, str]:
    """Peak traced memory (bytes) of the sparse path from prefilter to Newick, and the Newick."""
    n = len(seqs)
    tracemalloc.start()
    i, j, scores, _ = sparse.scored_pairs(seqs, 0, n, ALIGN, STATS, 1e-3)
    np.savez(tmp_path / "0.npz", i=i.astype(np.int32), j=j.astype(np.int32), score=scores)
    a, b, s, self_scores = sparse.load_pairs([str(tmp_path / "0.npz")], n)
    lengths = np.array([len(seq) for seq in seqs], dtype=float)
    labels, _, _ = sparse.significance_cut_sparse(a, b, s, lengths, STATS, 1e-3)
    centre = sparse.sparse_medoids(labels, a, b, s)
    reps = [centre[c] for c in sorted(centre)]
    tree, _ = sparse.representative_tree(seqs, reps, self_scores, "min", "average", ALIGN, 1)
    newick = sparse.newick_with_members(tree, [f"s{k}" for k in range(n)], reps, labels)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, newick


def test_sparse_path_never_holds_an_n_by_n_array(tmp_path, monkeypatch):
    """Memory grows linearly: three times the families (of the same size) about triples the peak
    of every traced allocation (NumPy and Python, prefilter to Newick), where anything n x n
    would grow it ninefold."""
    monkeypatch.setattr(sparse, "QUERY_CHUNK", 200)
    small, _ = sparse_run_peak(families(10, 100, seed=7)[0], tmp_path)
    seqs, _ = families(30, 100, seed=7)
    large, newick = sparse_run_peak(seqs, tmp_path)
    assert large < 4.5 * small, (small, large)
    assert all(f"s{k}:" in newick for k in range(len(seqs)))
    assert newick.count("(") == newick.count(")") and newick.endswith(";\n")


def test_newick_hangs_members_of_clusters_beyond_the_tree_under_the_root():
    labels = np.array([1, 1, 2, 3, 3, 3])
    tree = np.array([[0.0, 1.0, 0.6, 2.0]])
    newick = sparse.newick_with_members(tree, list("abcdef"), [0, 3], labels)
    assert newick.startswith("((") and "c:0.5" in newick
    assert all(f"{name}:" in newick for name in "abcdef")


def test_medoid_is_the_member_with_most_summed_score():
    labels = np.array([1, 1, 1, 2])
    i, j = np.array([0, 0, 1]), np.array([1, 2, 2])
    assert sparse.sparse_medoids(labels, i, j, np.array([10.0, 50.0, 5.0])) == {1: 0, 2: 3}


def sparse_config(tmp_path) -> str:
    path = tmp_path / "sparse.yaml"
    path.write_text(yaml.safe_dump({"sequences": {"alignment": {"sparse_above": 10}}}))
    return str(path)


def check_sparse_results(workdir):
    results = workdir / "results" / "sequences"
    summary = json.loads((results / "summary.json").read_text())
    assert summary["path"] == "sparse" and summary["adjusted_rand_index"] >= 0.9, summary
    assignments = pd.read_csv(results / "assignments.tsv", sep="\t")
    newick = (results / "tree.nwk").read_text()
    assert len(assignments) == 24 and all(f"{name}:" in newick for name in assignments["id"])
    assert "medoids of" in (results / "plots" / "dendrogram.svg").read_text()
    return summary


@pytest.mark.slow
def test_workflow_takes_the_sparse_path_above_the_switch(tmp_path):
    run_workflow(tmp_path, "tiny_sequences.yaml", "only_sequences.yaml", sparse_config(tmp_path))
    check_sparse_results(tmp_path)
    logs = sorted(p.name for p in (tmp_path / "logs" / "sequences" / "align_pairs").glob("*.log"))
    assert logs == ["0.log", "1.log", "2.log"]  # 24 queries in blocks of 10
    assert not (tmp_path / "results" / "sequences" / "distances.npy").exists()


@pytest.mark.slow
@pytest.mark.slurm
def test_sparse_path_runs_through_slurm(slurm_cluster, tmp_path):
    from slurm_jobs import TEST_PROFILE, assert_every_remote_job_ran_in_slurm, run_snakemake

    configs = [
        str(CONFIGS / "tiny_sequences.yaml"),
        str(CONFIGS / "only_sequences.yaml"),
        sparse_config(tmp_path),
    ]
    proc = run_snakemake(snakemake_cmd(tmp_path, *configs, extra=["--profile", str(TEST_PROFILE)]))
    jobs = assert_every_remote_job_ran_in_slurm(proc.stdout + proc.stderr, tmp_path)
    assert len(jobs) >= 3 + 3  # simulate, qc, three pair blocks, cluster, ...
    check_sparse_results(tmp_path)


def test_the_sparse_path_serves_large_inputs_with_settings_it_supports():
    from medflow.sequences.blocks import takes_sparse_path, why_not_sparse

    sequences = fill_and_validate({})["sequences"]
    above = sequences["alignment"]["sparse_above"] + 1
    assert takes_sparse_path(above, "protein", "BLOSUM62", sequences)
    assert not takes_sparse_path(above - 1, "protein", "BLOSUM62", sequences)
    # DNA with NUC.4.4 and its auto gaps (16/6, published statistics), both strands
    assert takes_sparse_path(above, "nucleotide", "NUC.4.4", sequences)
    for section, key, value in (
        ("alignment", "engine", "biopython"),
        ("alignment", "mode", "global"),
        ("alignment", "gap_open", 3),  # no known statistics for BLOSUM62 with these gaps
        ("clustering", "cut", "distance"),
    ):
        changed = {**sequences, section: {**sequences[section], key: value}}
        assert not takes_sparse_path(above, "protein", "BLOSUM62", changed), (section, key)
        assert str(value) in why_not_sparse("protein", "BLOSUM62", changed)
    assert why_not_sparse("protein", "BLOSUM62", sequences) is None
    assert why_not_sparse("nucleotide", "NUC.4.4", sequences) is None
    odd_gaps = {**sequences, "alignment": {**sequences["alignment"], "gap_open": 11}}
    assert "known statistics for NUC.4.4 with gaps 11/6" in why_not_sparse(
        "nucleotide", "NUC.4.4", odd_gaps
    )
    assert "a nucleotide matrix (got BLOSUM62)" in why_not_sparse(
        "nucleotide", "BLOSUM62", sequences
    )
    with pytest.raises(InputError, match=r"known statistics for NUC\.4\.4"):
        sparse.refuse_unserved("nucleotide", "NUC.4.4", odd_gaps)
    sparse.refuse_unserved("nucleotide", "NUC.4.4", sequences)  # served: no error
    sparse.refuse_unserved("protein", "BLOSUM62", sequences)  # served: no error
