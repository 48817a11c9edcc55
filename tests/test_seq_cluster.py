"""Cluster cuts on a tiny matrix with a known answer, medoids, Newick, label scores."""

import numpy as np
import pandas as pd
import pytest
from seq_cluster import cluster, label_scores, medoids, newick_name, read_labels, to_newick

from medflow_cli import InputError

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


@pytest.mark.parametrize("method", ["average", "complete", "single", "weighted"])
def test_distance_cut(method):
    _, labels = cluster(D, method, "distance", 0.5, 0)
    assert labels.tolist() == [1, 1, 1, 2, 2, 3]


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
    table = pd.DataFrame({"id": ["a", "b", "c", "d", "e"], "cluster": [1, 1, 2, 2, 2]})
    facts = label_scores(table, read_labels(str(path)))
    assert facts["adjusted_rand_index"] == 1.0 and facts["normalized_mutual_info"] == 1.0
    assert facts["unlabelled_records"] == 1


def test_bad_labels_table(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text("name,family\na,X\n")
    with pytest.raises(InputError, match="columns 'id' and 'group'"):
        read_labels(str(path))
