"""The imaging branch end to end on the tiny config: it learns, accounts for every image, reruns
byte for byte; bad input stops with a clear message."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import run_workflow

TINY = ("tiny_imaging.yaml", "only_imaging.yaml")


def results_bytes(workdir: Path) -> dict[str, bytes]:
    root = workdir / "results" / "imaging"
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    first = tmp_path_factory.mktemp("imaging_run1")
    second = tmp_path_factory.mktemp("imaging_run2")
    run_workflow(first, *TINY)
    run_workflow(second, *TINY)
    return first, second


@pytest.mark.slow
def test_tiny_run_learns_and_writes_every_output(tiny_runs):
    workdir, _ = tiny_runs
    results = workdir / "results" / "imaging"
    metrics = json.loads((results / "evaluation" / "metrics.json").read_text())
    assert metrics["roc_auc"] > 0.85, metrics
    assert metrics["balanced_accuracy"] > 0.6, metrics
    for name in (
        "model/model.keras",
        "model/history.png",
        "evaluation/roc_curve.png",
        "evaluation/confusion_matrix.png",
        "model/model_config.json",
    ):
        assert (results / name).stat().st_size > 0, name
    counts = pd.read_csv(results / "preprocessed" / "class_counts.tsv", sep="\t")
    rejects = pd.read_csv(results / "preprocessed" / "rejects.tsv", sep="\t")
    total = counts.set_index("class").loc["all", "total"]
    assert total + len(rejects) == 240  # tiny_imaging.yaml's n_images
    test_rows = pd.read_csv(results / "evaluation" / "test_predictions.tsv", sep="\t")
    assert len(test_rows) == metrics["n_test"] == counts.set_index("class").loc["all", "test"]
    diagnoses = pd.read_csv(results / "predictions" / "diagnoses.tsv", sep="\t")
    assert list(diagnoses.columns) == [
        "file",
        "predicted_class",
        "probability_healthy",
        "probability_lesion",
    ]
    assert len(diagnoses) == 6
    assert (
        (diagnoses["probability_healthy"] + diagnoses["probability_lesion"]) - 1
    ).abs().max() < 1e-5
    truth = pd.read_csv(workdir / "resources/imaging/example/new_images_truth.tsv", sep="\t")
    assert set(truth["file"]) == set(diagnoses["file"])


@pytest.mark.slow
def test_rerun_is_byte_identical(tiny_runs):
    first, second = (results_bytes(w) for w in tiny_runs)
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert not different, f"outputs differ between identical runs: {different}"


@pytest.mark.slow
def test_single_class_input_stops_with_a_clear_message(tmp_path):
    from PIL import Image

    for i in range(6):
        path = tmp_path / "data" / "normal" / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("L", (20, 20), color=10 * i).save(path)
    config = tmp_path / "user.yaml"
    config.write_text(
        yaml.safe_dump(
            {"imaging": {"input": {"folder": str(tmp_path / "data")}, "predict": {"images": ""}}}
        )
    )
    proc = run_workflow(tmp_path / "work", *TINY, config, check=False)
    assert proc.returncode != 0
    log = (tmp_path / "work" / "logs" / "imaging" / "preprocess.log").read_text()
    assert "only one class found (['normal'])" in log
    assert "Traceback" not in log


def test_missing_user_input_fails_at_start_naming_the_key(tmp_path):
    config = tmp_path / "user.yaml"
    config.write_text(
        yaml.safe_dump(
            {"imaging": {"input": {"format": "npz", "npz": str(tmp_path / "absent.npz")}}}
        )
    )
    proc = run_workflow(tmp_path / "work", *TINY, config, extra=["-n", "--cores", "1"], check=False)
    assert proc.returncode != 0
    assert "imaging.input.npz" in proc.stdout + proc.stderr
    assert "absent.npz" in proc.stdout + proc.stderr
