"""The imaging benchmarks run and return well-formed rows (smoke tests, not timing tests)."""

import bench_imaging
import bench_img_decode
import bench_medmnist
import numpy as np
import pytest


def test_quick_benchmark_rows_are_well_formed():
    rows = bench_imaging.run(quick=True)
    assert rows
    for row in rows:
        assert {"benchmark", "unit", "workflow", "baseline", "baseline_name"} <= set(row)
        assert row["workflow"] > 0 and row["baseline"] > 0


def test_quick_decode_benchmark_reads_every_image_it_writes(tmp_path):
    rows = bench_img_decode.run(quick=True)
    assert [row["benchmark"].split(" ")[2] for row in rows] == ["grey", "RGB"]
    assert all(row["workflow"] > 0 and row["baseline"] > 0 for row in rows)
    records = bench_img_decode.write_jpegs(tmp_path, 4, 40, 50, 3)
    assert len(bench_img_decode.pillow_alone(records)) == 4
    assert {label for _, label in records} == {"normal", "abnormal"}


def test_medmnist_bench_names_sets_and_says_when_the_data_is_absent(tmp_path, monkeypatch, capsys):
    assert bench_medmnist.data_set_name("/x/retinamnist_28.npz") == "retinamnist"
    assert bench_medmnist.data_set_name("BreastMNIST.npz") == "breastmnist"
    monkeypatch.setattr(bench_medmnist, "RETINA", tmp_path / "absent.npz")
    assert bench_medmnist.run(quick=True) == []
    assert "absent.npz is absent" in capsys.readouterr().out


def test_medmnist_bench_runs_the_branch_on_a_generated_npz(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 48), ("val", 16), ("test", 20)):
        labels = np.arange(n) % 2
        images = rng.integers(0, 80, (n, 12, 12, 3)).astype(np.uint8)
        images[labels == 1, 3:8, 3:8, 0] = 250  # a red square marks class 1
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels.reshape(-1, 1)
    np.savez(tmp_path / "breastmnist.npz", **arrays)
    quick = {
        "imaging.train.members": 1,
        "imaging.train.folds": 0,
        "imaging.train.epochs": 2,
        "imaging.train.width": 4,
    }
    metrics = bench_medmnist.evaluate_defaults(tmp_path / "breastmnist.npz", quick)
    assert metrics["n_test"] == 20 and metrics["class_names"] == ["0", "1"]
    assert 0 <= metrics["accuracy"] <= 1 and metrics["wall_s"] > 0 and metrics["cpu_s"] > 0
    text = bench_medmnist.report(tmp_path / "breastmnist.npz", metrics)
    assert "Google AutoML Vision      0.861  0.919" in text and "medflow (defaults)" in text


def test_medmnist_bench_says_why_a_file_cannot_run_and_exits_1(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    arrays = {}
    for split in ("train", "val", "test"):
        arrays[f"{split}_images"] = rng.integers(0, 255, (6, 8, 8)).astype(np.uint8)
        arrays[f"{split}_labels"] = np.tile([[1, 0, 1], [0, 0, 0], [0, 1, 0]], (2, 1))
    np.savez(tmp_path / "chestmnist.npz", **arrays)
    monkeypatch.setattr("sys.argv", ["bench_medmnist.py", str(tmp_path / "chestmnist.npz")])
    with pytest.raises(SystemExit) as stop:
        bench_medmnist.main()
    assert stop.value.code == 1
    assert "chestmnist.npz: medflow:" in capsys.readouterr().err
