"""The molecule benchmark's rows are well formed (speed itself is measured only by bench/)."""

import bench_molecules
import pytest

KEYS = {"benchmark", "unit", "workflow", "baseline", "baseline_name", "notes"}


@pytest.mark.slow
def test_quick_run_returns_well_formed_rows(monkeypatch):
    monkeypatch.setattr(bench_molecules, "QUICK_SIZE", 40)
    rows = bench_molecules.run(quick=True)
    assert rows and all(row.keys() >= KEYS for row in rows)
    assert all(row["workflow"] > 0 and row["baseline"] > 0 for row in rows)
    assert "NCI 40" in rows[0]["benchmark"]


def test_baseline_does_the_same_work_as_the_pipeline():
    chunk = bench_molecules.load_nci(30)
    raw = bench_molecules.raw_rdkit(chunk["smiles"].tolist(), threads=1)
    pipeline = bench_molecules.pipeline.process_frame(chunk, bench_molecules.SETTINGS, threads=1)
    assert [r[1] if r else "" for r in raw] == pipeline["inchikey"].tolist()
