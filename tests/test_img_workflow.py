"""The imaging branch end to end on the tiny config: it learns and accounts for every image; a step
run by hand gives the same bytes as inside the workflow; a switched-off branch is not checked; bad
input stops with a clear message.

The CNN trains once here (the session's `tiny_run`); byte-identical reruns of the whole workflow
are test_reproducibility's, and the recipe's determinism is test_img_train's.
"""

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import CONFIGS, REPO, TINY_CONFIGS, run_workflow

ONLY_IMAGING = ("tiny_imaging.yaml", "only_imaging.yaml")


def merged_config(*names: str) -> dict:
    """config.yaml with the test configs laid over it, as Snakemake merges --configfile files."""

    def merge(base: dict, extra: dict) -> dict:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value
        return base

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for name in names:
        merge(config, yaml.safe_load((CONFIGS / name).read_text()))
    return config


@pytest.mark.slow
def test_tiny_run_learns_and_accounts_for_every_image(tiny_run):
    results = tiny_run / "results" / "imaging"
    metrics = json.loads((results / "evaluation" / "metrics.json").read_text())
    assert metrics["roc_auc"] > 0.85, metrics
    assert metrics["balanced_accuracy"] > 0.6, metrics
    counts = pd.read_csv(results / "preprocessed" / "class_counts.tsv", sep="\t")
    rejects = pd.read_csv(results / "preprocessed" / "rejects.tsv", sep="\t")
    total = counts.set_index("class").loc["all", "total"]
    assert total + len(rejects) == 240  # tiny_imaging.yaml's n_images
    test_rows = pd.read_csv(results / "evaluation" / "test_predictions.tsv", sep="\t")
    assert len(test_rows) == metrics["n_test"] == counts.set_index("class").loc["all", "test"]
    predicted = (test_rows["probability_lesion"] > 0.5).map({True: "lesion", False: "healthy"})
    assert (predicted == test_rows["predicted_class"]).all()
    assert metrics["accuracy"] == pytest.approx(
        (test_rows["predicted_class"] == test_rows["true_class"]).mean(), abs=1e-6
    )
    config = json.loads((results / "model" / "model_config.json").read_text())
    assert config["class_names"] == ["healthy", "lesion"] and config["input_shape"] == [28, 28, 1]
    members = config["train"]["folds"] or config["train"]["members"]
    assert len(config["result"]["members"]) == members == 3  # cross-fitted: one per fold
    pooled = counts.set_index("class").loc["all", ["train", "val"]].sum()
    assert config["result"]["validation"] == f"out of fold, {pooled} images"
    history = pd.read_csv(results / "model" / "history.tsv", sep="\t")
    assert set(history["member"]) == set(range(members))
    scored = history.dropna(subset=["val_auc"])  # each member is scored in its later epochs
    assert scored["val_auc"].between(0, 1).all() and set(scored["member"]) == set(range(members))
    diagnoses = pd.read_csv(results / "predictions" / "diagnoses.tsv", sep="\t")
    assert list(diagnoses.columns) == [
        "file",
        "predicted_class",
        "probability_healthy",
        "probability_lesion",
    ]
    total = diagnoses["probability_healthy"] + diagnoses["probability_lesion"]
    assert (total - 1).abs().max() < 1e-5
    truth = pd.read_csv(tiny_run / "resources/imaging/example/new_images_truth.tsv", sep="\t")
    assert sorted(truth["file"]) == list(diagnoses["file"])
    from PIL import Image

    for name in (
        "model/history.png",
        "evaluation/roc_curve.png",
        "evaluation/confusion_matrix.png",
    ):
        with Image.open(results / name) as image:
            assert image.format == "PNG" and min(image.size) > 200, name


@pytest.mark.slow
def test_tensorflows_own_notices_go_to_the_job_logs_not_the_terminal(tiny_run):
    """TensorFlow's C++ start-up and tf.data notices are written to file descriptor 2; a job
    sends them to its log, so the terminal shows Snakemake's progress, not TensorFlow's."""
    terminal = (tiny_run / "terminal.txt").read_text()
    assert "img_train" in terminal  # the run's own output is there
    log = (tiny_run / "logs" / "imaging" / "train.log").read_text()
    notices = [n for n in ("absl::InitializeLog", "oneDNN custom operations") if n in log]
    if not notices:
        pytest.skip("this TensorFlow build printed none of the notices looked for")
    assert not [n for n in notices if n in terminal]


def test_training_tells_the_terminal_where_it_stands(tiny_run):
    """Training is the longest job of a run on real images: each member's end reaches the
    terminal with the time left, and every epoch the job's log."""
    terminal = (tiny_run / "terminal.txt").read_text()
    config = json.loads((tiny_run / "results/imaging/model/model_config.json").read_text())
    members = len(config["result"]["members"])
    for k in range(1, members + 1):
        assert f"imaging training: member {k} of {members} done in " in terminal
    log = (tiny_run / "logs" / "imaging" / "train.log").read_text()
    assert f"member {members} of {members}, epoch 1 of " in log


def test_a_step_run_by_hand_gives_the_workflow_bytes(tiny_run, tmp_path):
    """img_preprocess with --configfile/--set and positional ports == the same job in the run."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(merged_config(*TINY_CONFIGS)))
    names = ("arrays.npz", "manifest.tsv", "class_counts.tsv", "rejects.tsv")
    outputs = [str(tmp_path / name) for name in names]
    command = [sys.executable, str(REPO / "scripts" / "img_preprocess.py")]
    command += ["--configfile", str(config), "--set", "seed=42"]
    command += ["resources/imaging/example/images", *outputs]
    subprocess.run(command, cwd=tiny_run, check=True, capture_output=True, text=True)
    for name in names:
        made = (tiny_run / "results" / "imaging" / "preprocessed" / name).read_bytes()
        assert (tmp_path / name).read_bytes() == made, name


def test_a_switched_off_branch_is_not_checked(tmp_path):
    config = tmp_path / "user.yaml"
    config.write_text(yaml.safe_dump({"imaging": {"enabled": False, "input": {"format": "npz"}}}))
    proc = run_workflow(tmp_path / "work", config, extra=["-n", "--cores", "1"], check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "img_train" not in proc.stdout


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
    proc = run_workflow(tmp_path / "work", *ONLY_IMAGING, config, check=False)
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
    proc = run_workflow(
        tmp_path / "work", *ONLY_IMAGING, config, extra=["-n", "--cores", "1"], check=False
    )
    assert proc.returncode != 0
    assert "imaging.input.npz" in proc.stdout + proc.stderr
    assert "absent.npz" in proc.stdout + proc.stderr


def test_every_image_in_subfolders_is_an_input_so_a_new_one_reruns_the_steps(tmp_path):
    # Snakemake compares a folder input by the folder's own time stamp, which adding an image to
    # a class subfolder does not change; the rules list every (non-hidden) file as well.
    images, new = tmp_path / "images", tmp_path / "new"
    for path in ("a/x1.png", "a/deep/x2.png", "b/y1.png", "a/.ipynb_checkpoints/x1.png"):
        (images / path).parent.mkdir(parents=True, exist_ok=True)
        (images / path).write_bytes(b"not decoded by a dry run")
    (new / "ward3").mkdir(parents=True)
    (new / "ward3" / "p1.png").write_bytes(b"")
    override = tmp_path / "over.yaml"
    override.write_text(
        yaml.safe_dump(
            {"imaging": {"input": {"folder": str(images)}, "predict": {"images": str(new)}}}
        )
    )
    work = tmp_path / "work"
    proc = run_workflow(work, *ONLY_IMAGING, override, extra=["-n", "--cores", "1"])
    plan = proc.stdout + proc.stderr
    for path in ("a/x1.png", "a/deep/x2.png", "b/y1.png"):
        assert str(images / path) in plan, f"{path} is not an input of img_preprocess"
    assert str(new / "ward3" / "p1.png") in plan, "a new image is not an input of img_predict"
    assert ".ipynb_checkpoints" not in plan, "hidden paths are skipped, as the steps skip them"
