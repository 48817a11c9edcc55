"""Smoke test of the sequence benchmark: quick mode returns well-formed rows (no timing asserted)."""

import bench_sequences


def test_quick_run_returns_well_formed_rows():
    rows = bench_sequences.run(quick=True)
    assert len(rows) == 4
    for row in rows:
        assert {"benchmark", "unit", "workflow", "baseline", "baseline_name"} <= row.keys()
        assert row["workflow"] > 0 and row["baseline"] > 0
    assert {row["unit"] for row in rows} == {"GCUPS", "pairs/s", "s"}
