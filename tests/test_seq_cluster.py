"""Clustering: tree cuts on hand-made matrices, the significance cut on hand-made hit graphs,
Karlin–Altschul statistics against published values, medoids, Newick, labels tables."""

import math

import numpy as np
import pytest

from medflow.config import fill_and_validate
from medflow.sequences.cluster import (
    cut_tree,
    join_small_groups,
    joined_on_best_hits,
    medoids,
    newick_name,
    renumber,
    significance_clusters,
    significance_cut,
    to_newick,
    tree_of,
)
from medflow.sequences.io import check_labels_match, read_labels, unmatched_labels_note
from medflow.sequences.stats import (
    chance_merge_probability,
    karlin_altschul,
    label_scores,
    significant_pairs,
)
from medflow.step import InputError

# Two tight groups {0,1,2} and {3,4}; 5 is far from everything.
D = np.array(
    [
        [0.0, 0.1, 0.2, 0.9, 0.9, 0.95],
        [0.1, 0.0, 0.15, 0.9, 0.9, 0.95],
        [0.2, 0.15, 0.0, 0.9, 0.9, 0.95],
        [0.9, 0.9, 0.9, 0.0, 0.3, 0.95],
        [0.9, 0.9, 0.9, 0.3, 0.0, 0.95],
        [0.95, 0.95, 0.95, 0.95, 0.95, 0.0],
    ]
)


def cluster(dist, method, cut, threshold, n_clusters):
    tree = tree_of(dist, method)
    return tree, cut_tree(tree, cut, threshold, n_clusters)


@pytest.mark.parametrize("method", ["average", "complete", "single", "weighted"])
def test_distance_cut(method):
    _, labels = cluster(D, method, "distance", 0.5, 0)
    assert labels.tolist() == [1, 1, 1, 2, 2, 3]


def test_a_count_above_the_sequences_gives_singletons_and_says_so(caplog):
    with caplog.at_level("WARNING", logger="medflow"):
        _, labels = cluster(D, "average", "count", 0.0, 50)
    assert sorted(labels.tolist()) == [1, 2, 3, 4, 5, 6]
    assert "n_clusters is 50 but only 6 sequences" in caplog.text


def test_count_cut():
    _, labels = cluster(D, "average", "count", 0.0, 2)
    assert labels.tolist() == [1, 1, 1, 1, 1, 2]
    _, labels = cluster(D, "single", "count", 0.0, 6)
    assert sorted(labels.tolist()) == [1, 2, 3, 4, 5, 6]
    _, labels = cluster(D, "average", "distance", 0.12, 0)
    assert labels.tolist()[:2] == [1, 1] and len(set(labels.tolist())) == 5


def test_average_linkage_heights_are_upgma():
    tree, _ = cluster(D, "average", "distance", 0.5, 0)
    assert tree[0, 2] == pytest.approx(0.1)
    assert tree[1, 2] == pytest.approx((0.2 + 0.15) / 2)


def test_renumber_by_size_then_first_member():
    assert renumber(np.array([7, 3, 3, 9, 9, 9, 7])).tolist() == [2, 3, 3, 1, 1, 1, 2]


def test_published_blosum62_statistics_and_gap_convention():
    # NCBI BLAST's BLOSUM62 11/1 (a gap of length L costs 11 + L): lambda 0.267, K 0.041, H 0.14.
    # medflow charges gap_open + (L - 1) gap_extend, so BLAST's 11/1 is medflow's 12/1.
    blast_11_1 = karlin_altschul("BLOSUM62", 12, 1)
    assert (blast_11_1.lam, blast_11_1.K, blast_11_1.H) == (0.267, 0.041, 0.14)
    medflow_default = karlin_altschul("BLOSUM62", 11, 1)
    assert (medflow_default.lam, medflow_default.K) == (0.243, 0.024)
    assert karlin_altschul("NUC.4.4", 11, 1) is None
    # blastn's reward 5, penalty -4 (NUC.4.4 on A, C, G, T) with BLAST's gaps 10/6 and 8/6.
    nucleotide = karlin_altschul("NUC.4.4", 16, 6)
    assert (nucleotide.lam, nucleotide.K, nucleotide.H) == (0.163, 0.068, 0.16)
    assert karlin_altschul("NUC.4.4", 14, 6).lam == 0.146


@pytest.mark.parametrize(
    ("matrix", "given", "resolved"),
    [
        ("BLOSUM62", ("auto", "auto"), (11, 1)),
        ("NUC.4.4", ("auto", "auto"), (16, 6)),
        ("NUC.4.4", (14, "auto"), (14, 6)),
        ("BLOSUM62", (12, 2), (12, 2)),
    ],
)
def test_gap_costs_auto_follow_the_matrix_kind(matrix, given, resolved):
    from medflow.sequences.io import gap_costs
    from medflow.sequences.stats import alignment_statistics

    alignment = {"gap_open": given[0], "gap_extend": given[1]}
    assert gap_costs(alignment, matrix) == resolved
    assert alignment_statistics(alignment, matrix) == karlin_altschul(matrix, *resolved)
    assert fill_and_validate({})["sequences"]["alignment"]["gap_open"] == "auto"


def test_bit_scores_and_evalues_follow_karlin_altschul():
    stats = karlin_altschul("BLOSUM62", 12, 1)
    # bits = (lambda S - ln K) / ln 2; a raw score of 100 is 43.1 bits (BLAST reports 43.1).
    assert stats.bits(100) == pytest.approx((0.267 * 100 - math.log(0.041)) / math.log(2))
    assert float(stats.bits(100)) == pytest.approx(43.1, abs=0.05)
    # E = K m' n' exp(-lambda S), m' = m - ln(K m n) / H.
    m = n = 300
    ell = math.log(0.041 * m * n) / 0.14
    expected = 0.041 * (m - ell) * (n - ell) * math.exp(-0.267 * 100)
    assert float(stats.evalues(100, m, n)) == pytest.approx(expected)
    assert float(stats.evalues(100, m, n, searches=10)) == pytest.approx(10 * expected)
    # Longer sequences, more chance hits; a higher score, fewer.
    assert (
        stats.evalues(100, 600, 600) > stats.evalues(100, 300, 300) > stats.evalues(120, 300, 300)
    )


def test_significant_pairs_are_the_upper_triangle_below_the_threshold():
    stats = karlin_altschul("BLOSUM62", 11, 1)
    scores = np.array([[500.0, 200.0, 20.0], [200.0, 480.0, 15.0], [20.0, 15.0, 510.0]])
    lengths = np.array([100.0, 100.0, 100.0])
    i, j, e = significant_pairs(scores, lengths, stats, 1e-3)
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1)] and e[0] < 1e-3


@pytest.mark.parametrize("threshold", [1e-6, 1e-3, 1.0, 10.0])
def test_significant_pairs_skip_only_pairs_that_cannot_reach_the_threshold(threshold):
    """The score floor is a shortcut, not a filter: the result is every pair of the full E matrix."""
    stats = karlin_altschul("BLOSUM62", 11, 1)
    rng = np.random.default_rng(7)
    n = 60
    lengths = rng.integers(8, 400, n).astype(float)  # fragments to long domains
    scores = rng.gamma(2.0, 20.0, (n, n))
    scores = np.triu(scores, 1) + np.triu(scores, 1).T
    full = stats.evalues(scores, lengths[:, None], lengths[None, :], n)
    expected = [(a, b) for a in range(n) for b in range(a + 1, n) if full[a, b] < threshold]
    i, j, e = significant_pairs(scores, lengths, stats, threshold)
    assert expected and list(zip(i.tolist(), j.tolist(), strict=True)) == expected
    assert np.allclose(e, full[i, j])
    assert (scores[i, j] > stats.score_floor(threshold, n)).all()


def test_a_tie_between_best_hits_goes_to_the_lowest_group():
    # Sequence 6 alone hits groups 1 and 2 equally well (E underflows to 0 for strong hits).
    labels = np.array([1, 1, 1, 2, 2, 2, 3])
    i, j, e = np.array([3, 0]), np.array([6, 6]), np.array([0.0, 0.0])
    assert join_small_groups(labels, i, j, e, 1e-3).tolist() == [1, 1, 1, 2, 2, 2, 1]


def graph(groups, extra=()):
    """Every pair inside each group is a hit (E 1e-20), plus `extra` hits (i, j, E)."""
    pairs = [(a, b, 1e-20) for group in groups for k, a in enumerate(group) for b in group[k + 1 :]]
    pairs += list(extra)
    i, j, e = (np.array(column) for column in zip(*pairs, strict=True))
    return i, j, e.astype(float)


def test_significance_cut_joins_families_not_through_one_stray_hit():
    families = [list(range(0, 20)), list(range(20, 40))]
    # One barely significant stray hit between the families (as on real Pfam sets): chance.
    i, j, e = graph(families, extra=[(3, 25, 1e-4)])
    labels = significance_clusters(40, i, j, e, 1e-3)
    assert labels.tolist() == [1] * 20 + [2] * 20


def test_significance_cut_merges_families_with_many_hits_between_them():
    families = [list(range(0, 20)), list(range(20, 40))]
    extra = [(a, b, 1e-5) for a in range(0, 20, 2) for b in range(20, 40, 5)]
    labels = significance_clusters(40, *graph(families, extra), 1e-3)
    assert set(labels.tolist()) == {1}


def test_significance_cut_follows_chains_inside_a_family_and_keeps_singletons():
    # A divergent family: each member hits only its neighbours (a chain); 10 has no hit at all.
    chain = [(k, k + 1, 1e-8) for k in range(9)]
    i, j, e = (np.array(c) for c in zip(*chain, strict=True))
    labels = significance_clusters(11, i, j, e.astype(float), 1e-3)
    assert labels.tolist() == [1] * 10 + [2]


def test_chance_merge_probability_is_the_poisson_tail():
    assert chance_merge_probability(1, 1, 1e-3) == pytest.approx(1 - math.exp(-1e-3))
    mu = 400 * 1e-4
    two_or_more = 1 - math.exp(-mu) * (1 + mu)
    assert chance_merge_probability(2, 400, 1e-4) == pytest.approx(two_or_more)
    assert chance_merge_probability(0, 400, 1e-4) == 1.0


def test_medoids():
    _, labels = cluster(D, "average", "distance", 0.5, 0)
    assert medoids(D, labels) == {1: 1, 2: 3, 3: 5}


def test_newick():
    tree, _ = cluster(D[:3, :3], "average", "distance", 0.5, 0)
    assert to_newick(tree, ["a", "b", "c"]) == "(c:0.0875,(a:0.05,b:0.05):0.0375);\n"
    assert newick_name("x y") == "'x y'" and newick_name("it's") == "'it''s'"


def test_newick_of_a_deep_tree_does_not_recurse():
    n = 3000
    chain = np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(float)
    tree, _ = cluster(chain / n, "single", "count", 0.0, 1)
    text = to_newick(tree, [f"s{i}" for i in range(n)])
    assert text.count("s") == n and text.endswith(";\n")


def test_label_scores(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text("id\tgroup\na\tX\nb\tX\nc\tY\nd\tY\n")
    clusters = {"a": 1, "b": 1, "c": 2, "d": 2, "e": 2}
    facts = label_scores(clusters, read_labels(path))
    assert facts["adjusted_rand_index"] == 1.0 and facts["normalized_mutual_info"] == 1.0
    assert facts["unlabelled_records"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,family\na,X\n", "header line is \\['name,family'\\]"),
        ("id\tfamily\na\tX\n", "'id' and 'group'"),
        ("seq1\tfamA\nseq2\tfamB\n", "add that header line first where the file has none"),
        ("", "is empty"),
        (
            "id\tgroup\na\tX\na\tY\n",
            "line 3: ID a repeats \\(first on line 2, group 'X'; here group 'Y'\\)",
        ),
        ("id\tgroup\na\n", "line 2: 1 column"),
        ("id\tgroup\na\tX\n\tY\n", "line 3: the id cell is empty"),
        ("id\tgroup\na\t\na\tY\n", "line 3: ID a repeats"),
        ("id\tgroup\n\na\tX\n\na\tY\n", "line 5: ID a repeats"),  # blank lines are counted
        ('id\tgroup\n"f0_0\tf0\nf0_1\tf0\nf0_2"\tf0\n', r"lines 2-4: a double quote \(\"\)"),
        ('id\tgroup\na\tX\n"b\tY\nc\tY\n', r"lines 3-4: a double quote .* over 2 lines"),
    ],
)
def test_bad_labels_table(tmp_path, text, message):
    path = tmp_path / "labels.tsv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_labels(path)


def test_a_labels_header_is_read_in_any_case(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text("ID\tGroup\na\tX\n")
    assert read_labels(path) == {"a": "X"}


def test_an_empty_group_cell_leaves_the_record_unlabelled(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text("id\tgroup\na\tX\nb\t\nc\t  \nd\tY\n")
    assert read_labels(path) == {"a": "X", "d": "Y"}


def test_label_ids_that_name_no_record_are_reported_with_a_hint_on_case(tmp_path):
    labels = {"Seq1": "X", "seq2": "X", "ghost": "Y", "seq4": "Y"}
    note = unmatched_labels_note(labels, "l.tsv", ["seq1", "seq2", "seq4"])
    assert note.startswith("labels table l.tsv: 2 of its 4 IDs name no FASTA record")
    assert "(e.g. Seq1, ghost)" in note and "1 of them match a record when case" in note
    assert unmatched_labels_note(labels, "l.tsv", ["ghost"]).count("case") == 0
    assert unmatched_labels_note({"a": "X"}, "l.tsv", ["a", "b"]) == ""


def test_labels_must_name_some_record(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text("id\tgroup\n>a\tX\n>b\tY\n")
    with pytest.raises(InputError, match="none of its 2 IDs"):
        check_labels_match(read_labels(path), path, ["a", "b"])
    assert check_labels_match({"a": "X", "zz": "Y"}, path, ["a", "b"]) == 1
    # a FASTA without records is the FASTA's problem (QC names it), not the labels table's
    assert check_labels_match(read_labels(path), path, []) == 0


def test_a_quoted_cell_on_one_line_is_read_as_its_text(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text('id\tgroup\n"a"\t"Kinase, family 1"\nb\tY\n')
    assert read_labels(path) == {"a": "Kinase, family 1", "b": "Y"}


def unrelated_scores(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores of n unrelated sequences of length 100 (10 between, 500 to themselves), lengths."""
    scores = np.full((n, n), 10.0)
    np.fill_diagonal(scores, 500.0)
    return scores, np.full(n, 100.0)


def test_small_groups_join_the_group_most_of_their_members_find():
    stats = karlin_altschul("BLOSUM62", 11, 1)
    n = 12
    scores, lengths = unrelated_scores(n)
    labels = np.array([1] * 6 + [2] * 3 + [3, 4, 5])
    # Group 2 (3 members): two members hit group 1 with E well below 1/3, one does not.
    scores[6, 0] = scores[0, 6] = scores[7, 1] = scores[1, 7] = 50.0
    # Sequence 9 alone: best hit in group 1 with E < 1; sequence 10 alone: E > 1; 11: no hit.
    scores[9, 2] = scores[2, 9] = 40.0
    scores[10, 3] = scores[3, 10] = 20.0
    e = stats.evalues(np.array([50.0, 40.0, 20.0]), 100.0, 100.0, n)
    assert e[0] * 3 < 1 and e[1] < 1 < e[2]
    joined = join_small_groups(labels, *significant_pairs(scores, lengths, stats, 1.0), 1e-3)
    assert joined.tolist() == [1] * 10 + [2, 3]


def test_a_single_sequence_needs_two_hits_or_one_good_hit_to_join():
    # An orphan's best chance hit has E < 1 in 63% of searches: one hit with E = 0.4 is not
    # enough; two such hits into the same group are, and so is one hit with E < 0.1.
    stats = karlin_altschul("BLOSUM62", 11, 1)
    n = 12
    scores, lengths = unrelated_scores(n)
    labels = np.array([1] * 4 + [2] * 4 + [3, 4, 5, 6])
    assert 0.1 < stats.evalues(np.array([30.0]), 100.0, 100.0, n)[0] < 1
    scores[8, 0] = scores[0, 8] = 30.0  # 8: one weak hit -> stays alone
    scores[9, 4] = scores[4, 9] = scores[9, 5] = scores[5, 9] = 30.0  # 9: two weak hits -> joins
    scores[10, 1] = scores[1, 10] = 40.0  # 10: one hit with E = 0.035 -> joins
    scores[11, 6] = scores[6, 11] = 30.0  # 11: weak hits into two groups -> stays alone
    scores[11, 2] = scores[2, 11] = 30.0
    joined = join_small_groups(labels, *significant_pairs(scores, lengths, stats, 1.0), 1e-3)
    assert joined.tolist() == [1] * 4 + [2] * 4 + [3, 2, 1, 4]


def test_a_group_does_not_join_on_one_members_hit_nor_a_smaller_group():
    stats = karlin_altschul("BLOSUM62", 11, 1)
    lengths = np.full(8, 100.0)
    scores = np.full((8, 8), 10.0)
    np.fill_diagonal(scores, 500.0)
    labels = np.array([1, 1, 1, 1, 2, 2, 2, 2])
    scores[0, 4] = scores[4, 0] = 200.0  # one strong hit between two groups of four
    pairs = significant_pairs(scores, lengths, stats, 1.0)
    assert join_small_groups(labels, *pairs, 1e-3).tolist() == labels.tolist()


def weak_hits_between(n, dense_pairs):
    """Labels of n sequences: 0-3 one group, 4-9 another, the rest alone; `dense_pairs` hits of
    E = 0.5 from the four into the six (no member can vote: 4 x 0.5 is not below 1)."""
    labels = np.r_[[1] * 4, [2] * 6, np.arange(3, n - 7)]
    pairs = [(a, 4 + (a + k) % 6, 0.5) for k in range(6) for a in range(4)][:dense_pairs]
    i, j, e = (np.array(column) for column in zip(*pairs, strict=True))
    return labels, i, j, e


def test_a_group_joins_the_group_its_weak_hits_crowd_into():
    # 6 of the 24 pairs are hits with E < 1 (25%, where chance gives 1 in 1000): a short domain's
    # two halves, which no single hit can join.
    labels, i, j, e = weak_hits_between(1000, 6)
    assert join_small_groups(labels, i, j, e, 1e-3)[:10].tolist() == [1] * 10
    # 2 of 24 (8%) is below DENSE_SHARE: the groups stay apart.
    labels, i, j, e = weak_hits_between(1000, 2)
    assert join_small_groups(labels, i, j, e, 1e-3)[:10].tolist() == [2] * 4 + [1] * 6


def test_weak_hits_join_only_beyond_chance():
    # Among 12 sequences chance gives an E < 1 hit to 1 pair in 12: 6 of 24 pairs could be
    # chance (P about 0.1), so the groups stay apart however dense the hits look.
    labels, i, j, e = weak_hits_between(12, 6)
    assert chance_merge_probability(6, 24, 1 / 12) > 1e-3
    assert join_small_groups(labels, i, j, e, 1e-3)[:10].tolist() == [2] * 4 + [1] * 6


def test_weak_hits_from_a_few_near_copies_do_not_join_groups():
    # Six sequences each hit only 6 and 7 of a group of eight (12 of 48 pairs, 25%): one chance
    # likeness of two near-identical partners, repeated, not a family. Spread over the group's
    # members, as many hits join the two.
    labels = np.r_[[1] * 6, [2] * 8, np.arange(3, 989)]
    few = [(a, 6 + a % 2, 0.5) for a in range(6)] + [(a, 7 - a % 2, 0.5) for a in range(6)]
    spread = [(a, 6 + (a + k) % 8, 0.5) for a in range(6) for k in range(2)]
    for pairs, joined in ((few, False), (spread, True)):
        i, j, e = (np.array(column) for column in zip(*pairs, strict=True))
        found = join_small_groups(labels, i, j, e, 1e-3)[:14]
        assert bool(found.min() == found.max()) is joined


def test_weak_hits_must_stand_out_from_the_groups_hits_elsewhere():
    # Groups of 20 and 30 with hits (E 0.5) in 150 of their 600 pairs (25%), spread over both.
    # If the 20 also hit 3% of their pairs with everyone else (composition rather than kinship),
    # 25% is under ten times that: they stay apart, though chance at 3% would give 18, not 150.
    n = 2000
    labels = np.r_[[1] * 20, [2] * 30, np.arange(3, n - 47)]
    between = [(a, 20 + (a + 4 * k) % 30, 0.5) for a in range(20) for k in range(7)]
    between += [(a, 20 + (a + 1) % 30, 0.5) for a in range(10)]
    elsewhere = [(a, 50 + (59 * a + k) % (n - 50), 0.5) for a in range(20) for k in range(59)]
    assert len(between) == 150 and len(elsewhere) / (20 * (n - 50)) > 0.03
    for pairs, joined in ((between, True), (between + elsewhere, False)):
        i, j, e = (np.array(column) for column in zip(*pairs, strict=True))
        found = join_small_groups(labels, i, j, e, 1e-3)[:50]
        assert bool(found.min() == found.max()) is joined


def test_weak_hits_must_outnumber_those_with_shuffled_residues():
    # The case above that joins; a control (ShuffleControl's place) says how many hits the same
    # members have with the partners' residues shuffled: as many (composition) keeps them apart.
    labels, i, j, e = weak_hits_between(1000, 6)
    asked = []

    def control(count):
        return lambda members, partners: asked.append((members, partners)) or count

    assert join_small_groups(labels, i, j, e, 1e-3, control(1))[:10].tolist() == [1] * 10
    assert asked[0][0].tolist() == [0, 1, 2, 3] and asked[0][1].tolist() == [4, 5, 6, 7]
    kept_apart = join_small_groups(labels, i, j, e, 1e-3, control(3))[:10]
    assert kept_apart.tolist() == [2] * 4 + [1] * 6


def test_weak_hits_must_stay_dense_beyond_those_with_shuffled_residues():
    # 3 of the 24 pairs hit (12%, dense). With no shuffled hit they join; with one, the fold still
    # holds (3 >= SHUFFLE_FOLD x 1), but the 2 hits beyond composition are 8% of the pairs, below
    # DENSE_SHARE: apart. (DISIN and phoslip: 2,396 hits, about 750 shuffled, 7% beyond.)
    labels, i, j, e = weak_hits_between(3000, 3)
    assert join_small_groups(labels, i, j, e, 1e-3, lambda m, p: 0)[:10].tolist() == [1] * 10
    kept_apart = join_small_groups(labels, i, j, e, 1e-3, lambda m, p: 1)[:10]
    assert kept_apart.tolist() == [2] * 4 + [1] * 6


def test_significance_cut_on_simulated_scores():
    stats = karlin_altschul("BLOSUM62", 11, 1)
    # Two families of three (strong hits inside), a fragment with a weak hit to family 1 only.
    scores = np.full((7, 7), 15.0)
    scores[np.ix_([0, 1, 2], [0, 1, 2])] = 300.0
    scores[np.ix_([3, 4, 5], [3, 4, 5])] = 300.0
    scores[6, 0] = scores[0, 6] = 45.0
    np.fill_diagonal(scores, 600.0)
    lengths = np.array([120.0] * 6 + [30.0])
    labels, facts, joined = significance_cut(scores, lengths, stats, 1e-3)
    assert labels.tolist() == [1, 1, 1, 2, 2, 2, 1]
    assert facts["significant_pairs"] == 6
    assert facts["groups_from_hits"] == 3 and facts["groups_after_joining"] == 2
    # the fragment reached family 1 on a hit weaker than e_value: marked, and counted
    assert joined.tolist() == [False] * 6 + [True] and facts["joined_on_best_hits"] == 1


def test_joined_on_best_hits_marks_who_is_outside_the_clusters_core():
    found = np.array([1, 1, 1, 2, 3, 3, 4, 5, 5])
    labels = np.array([1, 1, 1, 1, 2, 2, 2, 3, 3])  # group 2 joined 1; groups 3 and 4 made 2
    assert joined_on_best_hits(found, labels).tolist() == [0, 0, 0, 1, 0, 0, 1, 0, 0]
    tie = joined_on_best_hits(np.array([4, 2, 4, 2]), np.ones(4, dtype=int))  # the lowest wins
    assert tie.tolist() == [1, 0, 1, 0]


def test_label_scores_count_only_labelled_records():
    clusters = {"a": 1, "b": 1, "c": 2, "d": 2, "x": 3}
    facts = label_scores(clusters, {"a": "F", "b": "F", "c": "G", "d": "H"})
    assert facts["labelled_records"] == 4 and facts["unlabelled_records"] == 1
    assert facts["adjusted_rand_index"] < 1.0 and facts["normalized_mutual_info"] < 1.0
    same = label_scores(clusters, {"a": "F", "b": "F", "c": "G", "d": "G"})
    assert same["adjusted_rand_index"] == 1.0 == same["normalized_mutual_info"]


def test_labels_naming_only_rejected_records_give_a_warning_not_a_failure(tmp_path, caplog):
    import seq_cluster

    path = tmp_path / "labels.tsv"
    path.write_text("id\tgroup\nshorty1\tA\nshorty2\tB\n")
    names, status = ["a", "b", "shorty1", "shorty2"], ["unique", "unique", "rejected", "rejected"]
    assignments = [{"id": "a", "cluster": 1}, {"id": "b", "cluster": 2}]
    facts = seq_cluster.label_facts(str(path), assignments, names, status)
    assert facts["adjusted_rand_index"] is None and facts["labelled_records"] == 0
    assert "2 labelled records were rejected by QC" in caplog.text


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labelings split the items the same way (label numbers aside)."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_small_groups_join_the_same_way_whatever_the_input_order():
    # Random groups and weak hits between them; the records shuffled five ways. Groups used to
    # decide one after another in the order of their numbers, which follow the input order.
    rng = np.random.default_rng(0)  # a case where deciding one group after another differed
    n = 100
    found = renumber(rng.integers(0, 60, n))
    i, j = np.triu_indices(n, 1)
    pick = rng.random(i.size) < 0.02
    i, j = i[pick], j[pick]
    evalues = 10.0 ** rng.uniform(-6, 0, i.size)
    reference = join_small_groups(found, i, j, evalues, 1e-3)
    assert reference.max() < found.max(), "nothing joined: the case tests nothing"
    for seed in range(5):
        perm = np.random.default_rng(seed).permutation(n)
        inverse = np.argsort(perm)
        shuffled = join_small_groups(renumber(found[perm]), inverse[i], inverse[j], evalues, 1e-3)
        assert same_partition(shuffled[inverse], reference), f"order {seed} changed the groups"


def test_compositions_give_blast_s_ungapped_lambda_for_background_residues():
    """BLOSUM62's ungapped lambda for Robinson & Robinson's frequencies is 0.3176 (NCBI BLAST,
    blast_stat.c); a sequence of exactly background composition keeps its scores (ratio 1)."""
    from medflow.sequences.io import PROTEIN
    from medflow.sequences.stats import BACKGROUND, Compositions

    compositions = Compositions.of(["MKVLAAGIEEWLLQ"], "BLOSUM62")
    assert compositions.lam == pytest.approx(0.3176, abs=5e-5)
    # 10,000 residues in background proportions: the pseudocounts change nothing
    typical = "".join(a * round(10_000 * f) for a, f in zip(PROTEIN, BACKGROUND, strict=True))
    compositions = Compositions.of([typical, typical], "BLOSUM62")
    assert compositions.ratios(np.array([0]), np.array([1]))[0] == pytest.approx(1.0, abs=1e-3)


def test_shared_composition_bias_lowers_the_pair_s_lambda_ratio():
    """Two cysteine-rich sequences: ratio well below 1, the same both ways; one of them against a
    typical protein: nearer 1 (a bias on one side alone does not raise scores); poly-C against poly-C scores positive on average, so it has no
    lambda at all and gets the floor. Nucleotide matrices have no composition statistics."""
    from medflow.sequences.stats import LAMBDA_RATIO_FLOOR, Compositions

    rich_a = "CKCGCPCSCDCRCNCEC" * 4
    rich_b = "DCCRGCQCPCKCTCCAC" * 4
    typical = "MKVLAAGIEEWLLQSTPNRGDHFKYVLAEL" * 2
    seqs = [rich_a, rich_b, typical, "C" * 80, "C" * 60]
    compositions = Compositions.of(seqs, "BLOSUM62")
    i, j = np.array([0, 1, 0, 3, 2]), np.array([1, 0, 2, 4, 2])
    rich, back, typical_rich, poly, own = compositions.ratios(i, j)
    assert rich == pytest.approx(back) and rich < 0.8
    assert rich < typical_rich <= 1.0
    assert poly == LAMBDA_RATIO_FLOOR and 0.9 < own <= 1.0
    scaled = compositions.scaled(np.array([100.0, 100.0]), np.array([0, 2]), np.array([1, 2]))
    assert scaled[0] == pytest.approx(100 * rich) and scaled[1] == pytest.approx(100 * own)
    assert Compositions.of(["ACGTACGT"], "NUC.4.4") is None


def two_groups_with_cross_hits(cross_evalue: float, cross_hit_evalue: float):
    """Pairs of two groups of 10 (0-9, 10-19), each a clique of strong hits, with three pairs
    between them of E `cross_evalue` (hit_evalues: `cross_hit_evalue`)."""
    i, j = np.triu_indices(20, 1)
    same = (i < 10) == (j < 10)
    i, j = np.r_[i[same], 0, 1, 2], np.r_[j[same], 10, 11, 12]
    evalues = np.r_[np.full(int(same.sum()), 1e-30), [cross_evalue] * 3]
    hit_evalues = np.r_[evalues[:-3], [cross_hit_evalue] * 3]
    return i, j, evalues, hit_evalues


def test_composition_scaled_evalues_decide_the_hits_and_the_join_reads_the_raw_ones():
    """Three hits between two groups of 10 are far more than chance gives (rate 1e-3 / 20 per
    pair): they merge the groups, unless their composition-scaled E-values are no hits. The join
    reads the raw E-values: three of ten members voting is not half, and 3% of the pairs is not
    dense, so the groups stay apart."""
    from medflow.sequences.cluster import significance_cut_pairs

    i, j, evalues, hit_evalues = two_groups_with_cross_hits(1e-5, 0.5)
    labels, facts, _ = significance_cut_pairs(20, i, j, evalues, 1e-3)
    assert labels.max() == 1 and facts["significant_pairs"] == i.size
    labels, facts, _ = significance_cut_pairs(20, i, j, evalues, 1e-3, None, hit_evalues)
    assert labels.tolist() == [1] * 10 + [2] * 10 and facts["significant_pairs"] == i.size - 3


def test_significance_cut_scales_the_scores_of_pairs_that_share_a_bias():
    """End to end on a score matrix: two groups of ten cysteine-rich sequences with three strong
    pairs between them (E < 1e-4 raw) are two clusters with the composition scaling, one without;
    the same scores between typical sequences keep their hits and merge."""
    from medflow.sequences.sparse import significance_cut_sparse
    from medflow.sequences.stats import Compositions

    rng = np.random.default_rng(3)
    rich = [("CKCGCPCSCDCRCNCEC" * 4, "DCCRGCQCPCKCTCCAC" * 4)[k // 10] for k in range(20)]
    rich = ["".join(rng.permutation(list(seq))) for seq in rich]
    typical = ["".join(rng.permutation(list("MKVLAAGIEEWLLQSTPNRGDHFKYVLAEL" * 2))) for _ in rich]
    scores = np.full((20, 20), 10.0)
    scores[:10, :10] = scores[10:, 10:] = 300.0
    for a, b in ((0, 10), (1, 11), (2, 12)):
        scores[a, b] = scores[b, a] = 75.0
    stats = karlin_altschul("BLOSUM62", 11, 1)
    for seqs, parts in ((rich, 2), (typical, 1)):
        lengths = np.array([len(seq) for seq in seqs], dtype=float)
        compositions = Compositions.of(seqs, "BLOSUM62")
        assert stats.evalues(75.0, lengths[0], lengths[10], 20) < 1e-4
        raw, _, _ = significance_cut(scores, lengths, stats, 1e-3)
        scaled, _, _ = significance_cut(scores, lengths, stats, 1e-3, None, compositions)
        assert raw.max() == 1 and scaled.max() == parts
        # the sparse path's cut of the same pairs agrees
        i, j = np.triu_indices(20, 1)
        sparse, _, _ = significance_cut_sparse(
            i, j, scores[i, j], lengths, stats, 1e-3, None, compositions
        )
        assert sparse.tolist() == scaled.tolist()


def test_composition_adjustment_can_be_turned_off():
    from medflow.sequences.stats import compositions_of

    clustering = fill_and_validate({})["sequences"]["clustering"]
    assert clustering["composition_adjustment"] is True
    assert compositions_of(["MKVLAAGIEE"], "BLOSUM62", clustering) is not None
    off = {**clustering, "composition_adjustment": False}
    assert compositions_of(["MKVLAAGIEE"], "BLOSUM62", off) is None


def test_composition_ratios_are_computed_once_per_pair_and_agree_both_ways():
    from medflow.sequences.stats import Compositions

    seqs = ["CKCGCPCSCDCRCNCEC" * 4, "DCCRGCQCPCKCTCCAC" * 4, "MKVLAAGIEEWLLQSTPNRGDHF" * 3]
    compositions = Compositions.of(seqs, "BLOSUM62")
    first = compositions.ratios(np.array([0, 1]), np.array([1, 2]))
    assert compositions.known["keys"].tolist() == [1, 5]
    again = compositions.ratios(np.array([2, 1, 0, 0]), np.array([1, 0, 2, 1]))
    assert again[[0, 1, 3]].tolist() == [first[1], first[0], first[0]]
    assert compositions.known["keys"].tolist() == [1, 2, 5]
    fresh = Compositions.of(seqs, "BLOSUM62").ratios(np.array([0]), np.array([2]))
    assert again[2] == fresh[0]
