"""The imaging benchmark runs and returns well-formed rows (a smoke test, not a timing test)."""

import bench_imaging


def test_quick_benchmark_rows_are_well_formed():
    rows = bench_imaging.run(quick=True)
    assert rows
    for row in rows:
        assert {"benchmark", "unit", "workflow", "baseline", "baseline_name"} <= set(row)
        assert row["workflow"] > 0 and row["baseline"] > 0
