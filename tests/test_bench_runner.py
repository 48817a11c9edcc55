"""bench/run_all.py's table and the clustering-peer parsers (benchmarks themselves are not tests)."""

import bench_clustering_peers
import pandas as pd
import pytest
import run_all


def test_rows_must_carry_both_figures():
    with pytest.raises(ValueError, match="baseline"):
        run_all.check_row({"benchmark": "x", "unit": "s", "workflow": 1.0})


def test_markdown_gives_the_ratio_of_workflow_to_baseline():
    row = {
        "benchmark": "align",
        "unit": "GCUPS",
        "workflow": 3.6,
        "baseline": 4.0,
        "baseline_name": "raw pyopal",
    }
    text = run_all.to_markdown({"bench_x": [row]}, {"bench_x": 12.0})
    assert "| bench_x | align | GCUPS | 3.6 | 4 | raw pyopal | 0.90 |" in text


def test_cdhit_cluster_file_is_parsed(tmp_path):
    clstr = tmp_path / "out.clstr"
    clstr.write_text(
        ">Cluster 0\n0\t158aa, >seq0035... at 56.33%\n1\t175aa, >seq0199... *\n>Cluster 1\n0\t90aa, >seq0002... *\n"
    )
    assert bench_clustering_peers.parse_cdhit_clusters(clstr).to_dict() == {
        "seq0035": 0,
        "seq0199": 0,
        "seq0002": 1,
    }


def test_peer_scores_count_unassigned_records():
    truth = pd.Series({"a": "f1", "b": "f1", "c": "f2"})
    facts = bench_clustering_peers.score(truth, pd.Series({"a": 1, "b": 1}))
    assert facts["unassigned"] == 1 and facts["clusters"] == 2
