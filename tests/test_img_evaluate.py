"""Imaging decisions and metrics (MedMNIST's definitions, checked against scikit-learn on hand-made
cases), the validation-chosen threshold, ensembles, the evaluate step, plots and the example."""

import json

import img_evaluate
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score

from medflow.imaging import decisions, plots
from medflow.imaging.example import make_dataset
from medflow.imaging.io import save_npz_stable
from medflow.step import InputError


def binary(p1) -> np.ndarray:
    p1 = np.asarray(p1, dtype=np.float64)
    return np.column_stack([1 - p1, p1])


def test_binary_metrics_match_scikit_learn_and_the_hand_count():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p1 = np.array([0.1, 0.2, 0.6, 0.3, 0.9, 0.8, 0.4, 0.7])
    m = decisions.medmnist_metrics(labels, binary(p1), ["normal", "lesion"], 1, 0.5)
    assert m["positive_class"] == "lesion" and m["confusion_matrix"] == [[3, 1], [1, 3]]
    assert m["accuracy"] == 0.75 == accuracy_score(labels, p1 > 0.5)
    assert m["roc_auc"] == pytest.approx(15 / 16) == pytest.approx(roc_auc_score(labels, p1))
    assert m["balanced_accuracy"] == 0.75 and m["f1"] == 0.75
    assert m["sensitivity"] == 0.75 and m["specificity"] == 0.75
    assert m["per_class"]["lesion"] == {"sensitivity": 0.75, "specificity": 0.75}


def test_binary_accuracy_uses_strictly_greater_than_the_threshold():
    """MedMNIST's evaluator: y_score > 0.5; a score of exactly 0.5 is negative."""
    m = decisions.medmnist_metrics(np.array([0, 1]), binary([0.5, 0.5]), ["a", "b"], 1, 0.5)
    assert m["accuracy"] == 0.5 and m["confusion_matrix"] == [[1, 0], [1, 0]]


def test_multiclass_metrics_match_scikit_learn():
    rng = np.random.default_rng(4)
    labels = np.array([0, 1, 2, 0, 1, 2, 2, 1, 0, 2])
    scores = rng.random((10, 3)) + np.eye(3)[labels] * 0.6
    probabilities = scores / scores.sum(axis=1, keepdims=True)
    m = decisions.medmnist_metrics(labels, probabilities, ["x", "y", "z"], 2, 0.5)
    predicted = probabilities.argmax(axis=1)
    assert m["accuracy"] == pytest.approx(accuracy_score(labels, predicted), abs=1e-6)
    assert m["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(labels, predicted), abs=1e-6
    )
    ovr = np.mean([roc_auc_score(labels == k, probabilities[:, k]) for k in range(3)])
    assert m["roc_auc"] == pytest.approx(ovr, abs=1e-6)
    assert m["roc_auc"] == pytest.approx(
        roc_auc_score(labels, probabilities, multi_class="ovr", average="macro"), abs=1e-6
    )


def test_multiclass_per_class_rates_on_a_known_case():
    labels = np.array([0, 1, 2, 0, 1, 2])
    probabilities = np.eye(3)[[0, 1, 2, 0, 2, 2]] * 0.8 + 0.2 / 3
    m = decisions.medmnist_metrics(labels, probabilities, ["x", "y", "z"], 2, 0.5)
    assert m["accuracy"] == pytest.approx(5 / 6, abs=1e-6)
    assert m["per_class"]["y"] == {"sensitivity": 0.5, "specificity": 1.0}
    assert m["per_class"]["z"] == {"sensitivity": 1.0, "specificity": 0.75}
    assert m["confusion_matrix"][1] == [0, 1, 1]


def test_macro_f1_averages_the_classes_the_test_split_holds():
    # class z has no test image: it would count as F1 0 and pull the mean down by a third
    labels = np.array([0, 1, 0, 1, 1, 0])
    probabilities = np.eye(3)[[0, 1, 2, 1, 0, 0]] * 0.8 + 0.2 / 3
    m = decisions.medmnist_metrics(labels, probabilities, ["x", "y", "z"], 2, 0.5)
    predicted = probabilities.argmax(axis=1)
    expected = f1_score(labels, predicted, average="macro", labels=[0, 1], zero_division=0)
    assert m["f1"] == pytest.approx(expected, abs=1e-6) and expected > 0.6
    assert m["sensitivity"] == pytest.approx(2 / 3, abs=1e-6)  # x 2 of 3, y 2 of 3
    # specificity too: x 3 of 3 others, y 2 of 3 (z's 5 of 6 would count with no z image)
    assert m["specificity"] == pytest.approx((1.0 + 2 / 3) / 2, abs=1e-6)


def test_auc_is_null_when_the_split_lacks_a_class():
    m = decisions.medmnist_metrics(np.array([0, 0]), binary([0.2, 0.4]), ["a", "b"], 1, 0.5)
    assert m["roc_auc"] is None and m["sensitivity"] is None


def test_positive_class_choice():
    labels = np.array([0, 0, 0, 1, 1])
    probabilities = binary([0.1, 0.2, 0.3, 0.9, 0.2])
    as_b = decisions.medmnist_metrics(labels, probabilities, ["a", "b"], 1, 0.5)
    as_a = decisions.medmnist_metrics(labels, probabilities, ["a", "b"], 0, 0.5)
    assert as_b["sensitivity"] == 0.5 and as_b["specificity"] == 1.0
    assert as_a["positive_class"] == "a" and as_a["roc_auc"] == as_b["roc_auc"]
    assert decisions.positive_index(["a", "b"], "") == 1
    with pytest.raises(decisions.DecisionError, match="not one of the classes"):
        decisions.positive_index(["a", "b"], "c")


def test_threshold_decides_binary_classes():
    probabilities = np.array([[0.7, 0.3], [0.4, 0.6]])
    assert list(decisions.decide(probabilities, 1, 0.5)) == [0, 1]
    assert list(decisions.decide(probabilities, 1, 0.25)) == [1, 1]
    assert list(decisions.decide(probabilities, 0, 0.5)) == [0, 1]


def test_best_threshold_on_known_answers():
    # scores of negatives below 0.3, positives above 0.3: any cut in (0.2, 0.35) is perfect;
    # the midpoint between the neighbouring scores is chosen.
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert decisions.best_threshold(labels, [0.05, 0.1, 0.2, 0.35, 0.4, 0.45]) == 0.275
    # 0.5 itself is already best: keep it (ties go to the cut nearest 0.5)
    assert decisions.best_threshold(labels, [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]) == 0.5
    # every score above 0.5 (the BreastMNIST failure): the cut moves up between the classes
    assert decisions.best_threshold([0, 0, 0, 1, 1], [0.6, 0.62, 0.64, 0.66, 0.7]) == 0.65
    # no cut beats calling every image positive (4 of 5): ties keep the cut nearest 0.5
    assert decisions.best_threshold([1, 1, 1, 1, 0], [0.6, 0.7, 0.8, 0.9, 0.65]) == 0.5


def test_recentred_probabilities_put_the_threshold_at_one_half_and_keep_the_ranking():
    p1 = np.array([0.05, 0.2, 0.3, 0.31, 0.9])
    shifted = decisions.recentre(binary(p1), 1, 0.3)
    assert np.allclose(shifted.sum(axis=1), 1.0)
    assert list(shifted[:, 1] > 0.5) == list(p1 > 0.3)
    assert list(np.argsort(shifted[:, 1])) == list(np.argsort(p1))
    assert decisions.recentre(binary(p1), 1, 0.3)[2, 1] == pytest.approx(0.5)
    three = np.full((2, 3), 1 / 3)
    assert decisions.recentre(three, 1, 0.3) is not None  # multi-class: unchanged
    assert np.array_equal(decisions.recentre(three, 1, 0.3), three)


def test_ensemble_mean_on_tiny_arrays():
    a = np.array([[0.9, 0.1], [0.2, 0.8]])
    b = np.array([[0.5, 0.5], [0.4, 0.6]])
    assert np.allclose(decisions.mean_probabilities([a, b]), [[0.7, 0.3], [0.3, 0.7]])


def test_evaluate_step_reads_the_test_split_and_writes_medmnist_metrics(tmp_path):
    from medflow.imaging import models

    rng = np.random.default_rng(0)
    arrays = {"class_names": np.array(["n", "l"]), "preprocess_settings": np.array("{}")}
    for split, count in (("train", 4), ("val", 4), ("test", 20)):
        arrays[f"x_{split}"] = rng.random((count, 8, 8, 1)).astype(np.float32)
        arrays[f"y_{split}"] = np.arange(count) % 2
        arrays[f"files_{split}"] = np.array([f"{split}_{i:02d}" for i in range(count)])
    save_npz_stable(tmp_path / "arrays.npz", arrays)
    network = models.build_model("seed_cnn", (8, 8, 1), 2, 8, 0.0, {}, 1)
    config = {"class_names": ["n", "l"], "decision": {"threshold": 0.4, "tta": True}}
    models.save_model_stable(network, str(tmp_path / "model.keras"), config)
    out = {k: str(tmp_path / f"{k}.out") for k in ("metrics", "predictions")}
    out |= {k: str(tmp_path / f"{k}.png") for k in ("confusion_plot", "roc_plot")}
    ctx = img_evaluate.STEP.context(
        {"arrays": str(tmp_path / "arrays.npz"), "model": str(tmp_path / "model.keras")}, out
    )
    img_evaluate.main(ctx)
    expected = models.class_probabilities(network, arrays["x_test"], 8, tta=True)
    expected = decisions.recentre(expected, 1, 0.4)
    metrics = json.loads((tmp_path / "metrics.out").read_text())
    scores = decisions.medmnist_metrics(arrays["y_test"], expected, ["n", "l"], 1, 0.5)
    assert metrics["n_test"] == scores.pop("n") == 20
    assert metrics["test_counts"] == scores.pop("counts") == {"n": 10, "l": 10}
    assert {k: metrics[k] for k in scores} == json.loads(json.dumps(scores))
    table = pd.read_csv(tmp_path / "predictions.out", sep="\t")
    assert list(table["file"]) == sorted(arrays["files_test"])
    assert np.allclose(table["probability_l"], expected[:, 1], atol=1e-6)


def test_plots_are_byte_stable(tmp_path):
    labels = np.array([0, 1, 1, 0, 1])
    probabilities = binary([0.2, 0.7, 0.4, 0.1, 0.9])
    history = pd.DataFrame(
        {
            "member": [0, 0, 1, 1],
            "epoch": [1, 2, 1, 2],
            "loss": [0.7, 0.5, 0.8, 0.6],
            "val_auc": [0.6, 0.8, 0.7, 0.65],
            "val_accuracy": [0.5, 0.7, 0.6, 0.6],
        }
    )
    for run in ("a", "b"):
        plots.plot_roc(labels, probabilities, ["n", "l"], 1, tmp_path / f"roc_{run}.png")
        plots.plot_confusion(np.array([[2, 0], [1, 2]]), ["n", "l"], tmp_path / f"cm_{run}.png")
        plots.plot_history(history, tmp_path / f"history_{run}.png")
    for name in ("roc", "cm", "history"):
        assert (tmp_path / f"{name}_a.png").read_bytes() == (
            tmp_path / f"{name}_b.png"
        ).read_bytes()


def test_example_generator_is_seeded_and_lesions_are_darker():
    settings = {
        "lesion_fraction": 0.5,
        "size": 48,
        "lesion_radius": (3.0, 5.0),
        "lesion_contrast": 0.3,
        "noise": 0.02,
    }
    images, labels = make_dataset(5, 40, **settings)
    again, labels_again = make_dataset(5, 40, **settings)
    other, _ = make_dataset(6, 40, **settings)
    assert labels == labels_again and all(
        np.array_equal(a, b) for a, b in zip(images, again, strict=True)
    )
    assert not all(np.array_equal(a, b) for a, b in zip(images, other, strict=True))
    assert labels.count("lesion") == 20 and images[0].shape == (48, 48)
    assert images[0].dtype == np.uint8
    new, _ = make_dataset(5, 40, **settings, stream=1)
    assert not np.array_equal(new[0], images[0])  # new cases differ from the training cases


def test_example_step_writes_class_folders_and_new_cases(tmp_path):
    import img_make_example
    from PIL import Image

    out = {
        "images": str(tmp_path / "images"),
        "new_images": str(tmp_path / "new"),
        "new_truth": str(tmp_path / "truth.tsv"),
    }
    overrides = {"seed": 1, "imaging.example.n_images": 12, "imaging.example.n_new": 3}
    overrides["imaging.example.image_size"] = 32
    img_make_example.main(img_make_example.STEP.context({}, out, overrides=overrides))
    lesion = sorted((tmp_path / "images" / "lesion").glob("*.png"))
    assert len(lesion) == 6 and len(list((tmp_path / "images" / "healthy").glob("*.png"))) == 6
    with Image.open(lesion[0]) as image:
        assert image.size == (32, 32) and image.mode == "L"
    truth = pd.read_csv(tmp_path / "truth.tsv", sep="\t")
    assert list(truth["file"]) == ["new_0000.png", "new_0001.png", "new_0002.png"]
    assert set(truth["class"]) <= {"healthy", "lesion"}
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == list(truth["file"])
    overrides |= {
        "imaging.example.lesion_radius_min": 6.0,
        "imaging.example.lesion_radius_max": 3.0,
    }
    with pytest.raises(InputError, match=r"lesion_radius_min \(6.0\) is above lesion_radius_max"):
        img_make_example.main(img_make_example.STEP.context({}, out, overrides=overrides))


def test_the_history_plot_stars_the_epoch_training_kept():
    import pandas as pd

    from medflow.imaging.plots import kept_epoch

    nan = float("nan")
    scored = pd.DataFrame({"epoch": [1, 2, 3, 4], "val_auc": [nan, 0.8, 0.9, 0.9]})
    scored["val_accuracy"] = [nan, 0.5, 0.6, 0.6]
    assert kept_epoch(scored) == 3  # the first best, as training keeps it
    one_class = scored.assign(val_auc=nan)  # no AUC on held-out images of one class: the last
    assert kept_epoch(one_class) == 4
