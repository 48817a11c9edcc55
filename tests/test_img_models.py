"""Imaging models and training: the exact seed_cnn stack, model heads, determinism, stable saving."""

import json
import zipfile

import img_models
import img_train
import keras
import numpy as np
import pytest

AUGMENT = {"flip": True, "rotation": 0.03, "translation": 0.1, "zoom": 0.1, "contrast": 0.0}


def toy_arrays(n_classes: int = 2, n: int = 96, size: int = 16, seed: int = 0) -> dict:
    """Images whose class is a bright square's position: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    arrays = {"class_names": np.array([f"c{k}" for k in range(n_classes)])}
    for split, count in [("train", n), ("val", n // 3), ("test", n // 3)]:
        labels = np.arange(count) % n_classes
        x = rng.normal(0.2, 0.05, (count, size, size, 1)).astype(np.float32)
        for i, label in enumerate(labels):
            row = 2 + 4 * label
            x[i, row : row + 3, 4:10, 0] += 0.6
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, labels
        arrays[f"files_{split}"] = np.array([f"{split}{i}" for i in range(count)])
    arrays["preprocess_settings"] = np.array(json.dumps({"height": size, "width": size}))
    return arrays


def short_training(arrays: dict, model: str = "small_cnn", epochs: int = 3):
    return img_train.train(
        arrays,
        model,
        epochs=epochs,
        batch_size=16,
        learning_rate=0.003,
        patience=5,
        lr_patience=0,
        class_weighting="balanced",
        width=8,
        dropout=0.2,
        augment=AUGMENT,
        seed=11,
        threads=1,
    )


def test_seed_cnn_is_exactly_the_classic_stack():
    model = img_models.build_model("seed_cnn", (28, 28, 1), 2)
    img_models.compile_model(model, 2, 0.001)
    stack = [(type(layer).__name__, layer.get_config()) for layer in model.layers]
    assert [name for name, _ in stack] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    conv, pool, _, dense, out = (config for _, config in stack)
    assert conv["filters"] == 32 and tuple(conv["kernel_size"]) == (3, 3)
    assert conv["activation"] == "relu" and conv["padding"] == "valid"
    assert tuple(pool["pool_size"]) == (2, 2)
    assert dense["units"] == 128 and dense["activation"] == "relu"
    assert out["units"] == 1 and out["activation"] == "sigmoid"
    assert model.output_shape == (None, 1)
    assert model.count_params() == (3 * 3 * 32 + 32) + (13 * 13 * 32 * 128 + 128) + (128 + 1)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "binary_crossentropy"


@pytest.mark.parametrize("name", img_models.MODELS)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_every_model_builds_for_binary_and_multiclass(name, n_classes):
    model = img_models.build_model(name, (28, 28, 3), n_classes, 8, 0.2, AUGMENT, 1)
    assert model.output_shape == (None, 1 if n_classes == 2 else n_classes)
    if name != "seed_cnn":
        kinds = {type(layer).__name__ for layer in model.layers}
        assert {"BatchNormalization", "GlobalAveragePooling2D", "Dropout", "RandomFlip"} <= kinds
    if name == "resnet":
        assert any(type(layer).__name__ == "Add" for layer in model.layers)


def test_balanced_class_weights():
    weights = img_train.class_weights(np.array([0, 0, 0, 1]), 2, "balanced")
    assert weights == pytest.approx({0: 4 / 6, 1: 2.0})
    assert img_train.class_weights(np.array([0, 1]), 2, "none") is None


def test_training_is_deterministic_and_learns():
    arrays = toy_arrays()
    first, history_one, _ = short_training(arrays)
    second, history_two, _ = short_training(arrays)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        assert np.array_equal(a, b)
    assert history_one.equals(history_two)
    assert history_one["val_auc"].max() > 0.8


def test_multiclass_training_gives_probabilities():
    arrays = toy_arrays(n_classes=3)
    model, history, summary = short_training(arrays, epochs=2)
    probabilities = img_models.class_probabilities(model, arrays["x_test"], 64)
    assert probabilities.shape == (len(arrays["x_test"]), 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert summary["epochs_run"] == len(history) == 2


def test_early_stopping_restores_the_best_epoch():
    arrays = toy_arrays()
    model, history, summary = short_training(arrays, epochs=4)
    probabilities = img_models.class_probabilities(model, arrays["x_val"], 64)
    from sklearn.metrics import roc_auc_score

    restored = roc_auc_score(arrays["y_val"], probabilities[:, 1])
    assert restored == pytest.approx(history["val_auc"].max(), abs=0.02)
    assert summary["best_epoch"] == int(history["val_auc"].idxmax()) + 1


def test_saved_model_is_byte_stable_loads_and_carries_its_config(tmp_path):
    model = img_models.build_model("small_cnn", (16, 16, 1), 2, 4, 0.1, AUGMENT, 3)
    config = {"class_names": ["a", "b"], "preprocess": {"height": 16}}
    img_models.save_model_stable(model, str(tmp_path / "one.keras"), config)
    img_models.save_model_stable(model, str(tmp_path / "two.keras"), config)
    assert (tmp_path / "one.keras").read_bytes() == (tmp_path / "two.keras").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.keras") as archive:
        assert "date_saved" not in archive.read("metadata.json").decode()
    assert img_models.read_medflow_config(str(tmp_path / "one.keras")) == config
    loaded = keras.models.load_model(tmp_path / "one.keras")
    x = np.random.default_rng(0).random((4, 16, 16, 1)).astype(np.float32)
    assert np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_train_main_writes_model_history_and_plot(tmp_path):
    from img_io import save_npz_stable

    save_npz_stable(tmp_path / "arrays.npz", toy_arrays())
    out = {
        name: str(tmp_path / name)
        for name in ("model.keras", "config.json", "history.tsv", "history.png")
    }
    img_train.main(
        arrays=str(tmp_path / "arrays.npz"),
        model=out["model.keras"],
        model_config=out["config.json"],
        history=out["history.tsv"],
        history_plot=out["history.png"],
        model_name="seed_cnn",
        epochs=2,
        batch_size=16,
        threads=1,
    )
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"] == "seed_cnn" and config["class_names"] == ["c0", "c1"]
    assert config["preprocess"] == {"height": 16, "width": 16}
    assert config == img_models.read_medflow_config(out["model.keras"])
    assert (tmp_path / "history.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "history.tsv").read_text().count("\n") == 3


def test_shared_object_ids_are_renumbered_in_order():
    config = {
        "a": {"shared_object_id": 140001},
        "b": [{"shared_object_id": 99}],
        "c": {"shared_object_id": 140001},
    }
    assert img_models.renumber_shared_objects(config) == {
        "a": {"shared_object_id": 1},
        "b": [{"shared_object_id": 2}],
        "c": {"shared_object_id": 1},
    }
