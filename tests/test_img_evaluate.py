"""Imaging evaluation metrics, decisions and plots; the example generator."""

import img_evaluate
import img_io
import img_make_example
import numpy as np
import pytest

from medflow_cli import InputError


def test_binary_metrics_on_a_known_case():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p1 = np.array([0.1, 0.2, 0.6, 0.3, 0.9, 0.8, 0.4, 0.7])
    probabilities = np.column_stack([1 - p1, p1])
    metrics = img_evaluate.compute_metrics(labels, probabilities, ["normal", "lesion"], "", 0.5)
    assert metrics["positive_class"] == "lesion"
    assert metrics["confusion_matrix"] == [[3, 1], [1, 3]]
    assert metrics["accuracy"] == 0.75 and metrics["balanced_accuracy"] == 0.75
    assert metrics["sensitivity"] == 0.75 and metrics["specificity"] == 0.75
    assert metrics["f1"] == 0.75
    assert metrics["roc_auc"] == pytest.approx(15 / 16)


def test_positive_class_choice_swaps_sensitivity_and_specificity():
    labels = np.array([0, 0, 0, 1, 1])
    p1 = np.array([0.1, 0.2, 0.3, 0.9, 0.2])
    probabilities = np.column_stack([1 - p1, p1])
    as_b = img_evaluate.compute_metrics(labels, probabilities, ["a", "b"], "b", 0.5)
    as_a = img_evaluate.compute_metrics(labels, probabilities, ["a", "b"], "a", 0.5)
    assert as_b["sensitivity"] == 0.5 and as_b["specificity"] == 1.0
    assert as_a["positive_class"] == "a"
    with pytest.raises(InputError, match="not one of the classes"):
        img_io.positive_index(["a", "b"], "c")


def test_multiclass_metrics():
    labels = np.array([0, 1, 2, 0, 1, 2])
    probabilities = np.eye(3)[[0, 1, 2, 0, 2, 2]] * 0.8 + 0.2 / 3
    metrics = img_evaluate.compute_metrics(labels, probabilities, ["x", "y", "z"], "", 0.5)
    assert metrics["accuracy"] == pytest.approx(5 / 6, abs=1e-6)
    assert metrics["per_class"]["y"]["sensitivity"] == 0.5
    assert metrics["per_class"]["z"]["specificity"] == 0.75
    assert metrics["confusion_matrix"][1] == [0, 1, 1]
    assert 0.5 < metrics["roc_auc"] <= 1.0


def test_auc_is_null_when_the_test_split_lacks_a_class():
    probabilities = np.array([[0.8, 0.2], [0.6, 0.4]])
    metrics = img_evaluate.compute_metrics(np.array([0, 0]), probabilities, ["a", "b"], "", 0.5)
    assert metrics["roc_auc"] is None and metrics["sensitivity"] is None


def test_threshold_decides_binary_classes():
    probabilities = np.array([[0.7, 0.3], [0.4, 0.6]])
    assert list(img_io.decide(probabilities, 1, 0.5)) == [0, 1]
    assert list(img_io.decide(probabilities, 1, 0.25)) == [1, 1]
    assert list(img_io.decide(probabilities, 0, 0.5)) == [0, 1]


def test_plots_are_byte_stable(tmp_path):
    labels = np.array([0, 1, 1, 0, 1])
    p1 = np.array([0.2, 0.7, 0.4, 0.1, 0.9])
    probabilities = np.column_stack([1 - p1, p1])
    for run in ("a", "b"):
        img_evaluate.plot_roc(labels, probabilities, ["n", "l"], 1, tmp_path / f"roc_{run}.png")
        img_evaluate.plot_confusion(
            np.array([[2, 0], [1, 2]]), ["n", "l"], tmp_path / f"cm_{run}.png"
        )
    assert (tmp_path / "roc_a.png").read_bytes() == (tmp_path / "roc_b.png").read_bytes()
    assert (tmp_path / "cm_a.png").read_bytes() == (tmp_path / "cm_b.png").read_bytes()


def test_example_generator_is_seeded_and_lesions_are_darker():
    settings = {
        "lesion_fraction": 0.5,
        "size": 48,
        "lesion_radius": (3.0, 5.0),
        "lesion_contrast": 0.3,
        "noise": 0.02,
    }
    images, labels = img_make_example.make_dataset(5, 40, **settings)
    again, labels_again = img_make_example.make_dataset(5, 40, **settings)
    other, _ = img_make_example.make_dataset(6, 40, **settings)
    assert labels == labels_again and all(
        np.array_equal(a, b) for a, b in zip(images, again, strict=True)
    )
    assert not all(np.array_equal(a, b) for a, b in zip(images, other, strict=True))
    assert labels.count("lesion") == 20 and images[0].shape == (48, 48)
    assert images[0].dtype == np.uint8
    new, _ = img_make_example.make_dataset(5, 40, **settings, stream=1)
    assert not np.array_equal(new[0], images[0])  # new cases differ from the training cases


def test_example_main_writes_class_folders_and_new_cases(tmp_path):
    img_make_example.main(
        images_dir=str(tmp_path / "images"),
        new_dir=str(tmp_path / "new"),
        new_truth=str(tmp_path / "truth.tsv"),
        seed=1,
        n_images=12,
        n_new=3,
        lesion_fraction=0.5,
        image_size=32,
        lesion_radius_min=2,
        lesion_radius_max=4,
        lesion_contrast=0.2,
        noise=0.05,
    )
    assert len(list((tmp_path / "images" / "lesion").glob("*.png"))) == 6
    assert len(list((tmp_path / "images" / "healthy").glob("*.png"))) == 6
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [
        "new_0000.png",
        "new_0001.png",
        "new_0002.png",
    ]
    assert (tmp_path / "truth.tsv").read_text().startswith("file\tclass\nnew_0000.png\t")
