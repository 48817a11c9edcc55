"""Imaging benchmark: training throughput of the workflow's step against a bare Keras fit.

In one process, on the same in-memory stand-in for PneumoniaMNIST (4,708 training and 524
validation images of 28x28 grey, made by the example generator), with the default small_cnn and
2 threads:
- the workflow's training step, scripts/img_train.py main(): load the .npz, seed and set up
  determinism, build, fit with validation AUC, early stopping and learning-rate callbacks, save
  the model, history table and plot; images/s = epochs x training images / wall time of main();
- a bare `model.fit` of the same model (same builder, same compile) on the same arrays, without
  validation or callbacks, and (second row) the same bare fit with the validation split added,
  which shows what the workflow's own overhead is once validation is counted.
The target is >= 90% of the bare figure. TensorFlow's import (~3 s) is paid once, outside both.
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import img_models
import img_train
from img_io import save_npz_stable
from img_make_example import make_dataset

THREADS = 2
SEED = 42
TRAIN = {"batch_size": 64, "learning_rate": 0.001, "width": 32, "dropout": 0.3}
AUGMENT = {"flip": True, "rotation": 0.03, "translation": 0.1, "zoom": 0.1, "contrast": 0.0}


def stand_in(n_train: int, n_val: int) -> dict[str, np.ndarray]:
    """PneumoniaMNIST-shaped arrays (28x28x1 in 0..1, two classes) from the example generator."""
    images, labels = make_dataset(SEED, n_train + n_val, 0.5, 28, (1.0, 2.5), 0.15, 0.1)
    x = np.stack(images).astype(np.float32)[..., None] / 255.0
    y = np.array([int(label == "lesion") for label in labels])
    return {
        "x_train": x[:n_train],
        "y_train": y[:n_train],
        "x_val": x[n_train:],
        "y_val": y[n_train:],
        "x_test": x[:0],
        "y_test": y[:0],
        "class_names": np.array(["healthy", "lesion"]),
        "preprocess_settings": np.array("{}"),
    }


def workflow_step(arrays: dict[str, np.ndarray], epochs: int) -> float:
    """Images/s of img_train.main() end to end (files in, model and history out)."""
    with tempfile.TemporaryDirectory() as tmp:
        save_npz_stable(Path(tmp, "arrays.npz"), arrays)
        start = time.perf_counter()
        img_train.main(
            arrays=str(Path(tmp, "arrays.npz")),
            model=str(Path(tmp, "model.keras")),
            model_config=str(Path(tmp, "config.json")),
            history=str(Path(tmp, "history.tsv")),
            history_plot=str(Path(tmp, "history.png")),
            model_name="small_cnn",
            epochs=epochs,
            patience=epochs + 1,
            seed=SEED,
            threads=THREADS,
            **TRAIN,
            **AUGMENT,
        )
        seconds = time.perf_counter() - start
    return epochs * len(arrays["x_train"]) / seconds


def bare_fit(arrays: dict[str, np.ndarray], epochs: int, validate: bool = False) -> float:
    """Images/s of a bare model.fit of the same model on the same in-memory arrays."""
    model = img_models.build_model(
        "small_cnn", arrays["x_train"].shape[1:], 2, TRAIN["width"], TRAIN["dropout"], AUGMENT, SEED
    )
    img_models.compile_model(model, 2, TRAIN["learning_rate"])
    y = arrays["y_train"].astype(np.float32).reshape(-1, 1)
    start = time.perf_counter()
    validation = (arrays["x_val"], arrays["y_val"].astype(np.float32).reshape(-1, 1))
    model.fit(
        arrays["x_train"],
        y,
        batch_size=TRAIN["batch_size"],
        epochs=epochs,
        validation_data=validation if validate else None,
        validation_batch_size=256,
        verbose=0,
    )
    return epochs * len(arrays["x_train"]) / (time.perf_counter() - start)


def run(quick: bool = False) -> list[dict]:
    n_train, n_val, epochs = (512, 64, 1) if quick else (4708, 524, 5)
    arrays = stand_in(n_train, n_val)
    img_models.configure_determinism(SEED, THREADS)
    bare = bare_fit(arrays, epochs)
    workflow = workflow_step(arrays, epochs)
    validated = bare_fit(arrays, epochs, validate=True)
    return [
        {
            "benchmark": "CNN training throughput (small_cnn, 28x28 grey)",
            "unit": "images/s",
            "workflow": workflow,
            "baseline": bare,
            "baseline_name": "bare keras Model.fit, same model and arrays",
            "notes": (
                f"{n_train} train / {n_val} val images, {epochs} epochs, {THREADS} threads; "
                f"workflow = {workflow / bare:.0%} of bare (target >= 90%); the workflow also "
                "validates each epoch and saves model, history and plot"
            ),
        },
        {
            "benchmark": "CNN training throughput (small_cnn, 28x28 grey)",
            "unit": "images/s",
            "workflow": workflow,
            "baseline": validated,
            "baseline_name": "bare keras Model.fit with the same validation split",
            "notes": f"workflow = {workflow / validated:.0%} of this baseline",
        },
    ]


def main() -> None:
    rows = run(quick="--quick" in sys.argv)
    print(f"{'benchmark':50} {'unit':9} {'workflow':>10} {'baseline':>10}  baseline is / notes")
    for row in rows:
        print(
            f"{row['benchmark']:50} {row['unit']:9} {row['workflow']:10.1f} "
            f"{row['baseline']:10.1f}  {row['baseline_name']}; {row['notes']}"
        )


if __name__ == "__main__":
    main()
