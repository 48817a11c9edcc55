"""Smoke test of the sequence benchmark: quick mode returns well-formed rows (no timing asserted)."""

import bench_sequences
import pytest


def test_quick_run_returns_well_formed_rows():
    rows = bench_sequences.run(quick=True)
    assert len(rows) == 4
    for row in rows:
        assert {"benchmark", "unit", "workflow", "baseline", "baseline_name"} <= row.keys()
        assert row["workflow"] > 0 and row["baseline"] > 0
    assert {row["unit"] for row in rows} == {"GCUPS", "pairs/s", "s"}


@pytest.mark.slow
def test_scale_quick_run_returns_well_formed_rows():
    """bench_seq_scale in quick mode: both paths of the workflow on 300 generated sequences."""
    import bench_seq_scale

    rows = bench_seq_scale.run(quick=True)
    assert [row["benchmark"].rsplit(", ", 1)[1] for row in rows] == ["sparse path", "dense path"]
    for row in rows:
        assert {"benchmark", "unit", "workflow", "baseline", "baseline_name"} <= row.keys()
        assert row["workflow"] > 0 and "ARI" in row["notes"]


def test_prefilter_quick_run_returns_well_formed_rows():
    """bench_seq_prefilter in quick mode: every prefilter scored on generated families."""
    import bench_seq_prefilter

    rows = bench_seq_prefilter.run(quick=True)
    assert len(rows) == 6
    for row in rows:
        assert 0 < row["baseline"] <= 1 and -1 <= row["workflow"] <= 1
        assert "recall of pairs with E < 1" in row["notes"]


def test_dna_sparse_quick_run_returns_well_formed_rows():
    """bench_seq_dna_sparse in quick mode: both paths on 120 generated DNA sequences."""
    import bench_seq_dna_sparse

    rows = bench_seq_dna_sparse.run(quick=True)
    assert [row["unit"] for row in rows] == ["ARI (higher is better)", "s wall (lower is better)"]
    assert rows[0]["workflow"] >= 0.9 and rows[0]["baseline"] >= 0.9, rows[0]["notes"]
    assert all(row["workflow"] > 0 and row["baseline"] > 0 for row in rows)
