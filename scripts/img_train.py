"""Train the configured CNN on the preprocessed arrays, deterministically, and save it.

The model (chosen by name) trains with Adam on the train split, with class weights for imbalance,
and stops early on validation AUC with the best epoch's weights restored. Seeds, op determinism
and the thread count come from the rule, so a rerun gives identical weights and metrics. Outputs:
the model in the .keras format (with the medflow config that made it stored inside and beside it),
the training history as a table and a plot of its curves.
"""

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from img_io import write_json, write_table

from medflow_cli import InputError, add_common_args, run_step

log = logging.getLogger("medflow.img_train")
AUGMENT_KEYS = ("flip", "rotation", "translation", "zoom", "contrast")


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The preprocessed arrays (x_/y_/files_ per split, class_names) as plain NumPy arrays."""
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def class_weights(labels: np.ndarray, n_classes: int, mode: str) -> dict[int, float] | None:
    """'balanced' weights n / (k * count_c), so each class counts equally; None for 'none'."""
    if mode == "none":
        return None
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return {k: float(w) for k, w in enumerate(weights)}


def train(
    arrays: dict[str, np.ndarray],
    model_name: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    lr_patience: int,
    class_weighting: str,
    width: int,
    dropout: float,
    augment: dict[str, Any],
    seed: int,
    threads: int,
) -> tuple[Any, pd.DataFrame, dict[str, Any]]:
    """Build, compile and fit the model; return it, its history table and a summary."""
    import img_models
    import keras

    img_models.configure_determinism(seed, threads)
    n_classes = len(arrays["class_names"])
    x_train, x_val = arrays["x_train"], arrays["x_val"]
    if len(x_train) == 0 or len(x_val) == 0:
        raise InputError("training needs images in both the train and the validation split")
    y_train = img_models.encode_labels(arrays["y_train"], n_classes)
    y_val = img_models.encode_labels(arrays["y_val"], n_classes)
    model = img_models.build_model(
        model_name, x_train.shape[1:], n_classes, width, dropout, augment, seed
    )
    img_models.compile_model(model, n_classes, learning_rate)
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_auc", mode="max", patience=patience, restore_best_weights=True
    )
    callbacks = [stopper]
    if lr_patience > 0:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_auc",
                mode="max",
                factor=0.5,
                patience=lr_patience,
                min_lr=learning_rate / 64,
            )
        )
    weights = class_weights(arrays["y_train"], n_classes, class_weighting)
    log.info(
        "training %s (%d parameters) on %d images, validating on %d; class weights %s",
        model_name,
        model.count_params(),
        len(x_train),
        len(x_val),
        weights,
    )
    start = time.perf_counter()
    fit = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(x_val, y_val),
        validation_batch_size=max(batch_size, 256),
        class_weight=weights,
        callbacks=callbacks,
        shuffle=True,
        verbose=2,
    )
    seconds = time.perf_counter() - start
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    best = int(history["epoch"][history["val_auc"].idxmax()])
    summary = {
        "epochs_run": len(history),
        "best_epoch": best,
        "best_val_auc": float(history["val_auc"].max()),
        "parameters": int(model.count_params()),
        "train_images": len(x_train),
        "seconds": seconds,
    }
    log.info(
        "trained %d epochs in %.1f s (%.0f images/s); best val AUC %.4f at epoch %d",
        len(history),
        seconds,
        len(history) * len(x_train) / seconds,
        summary["best_val_auc"],
        best,
    )
    return model, history, summary


def plot_history(history: pd.DataFrame, best_epoch: int, path: str | Path) -> None:
    """Loss and AUC per epoch, train and validation, with the restored epoch marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, metric, label in zip(
        axes, ("loss", "auc", "accuracy"), ("loss", "ROC AUC", "accuracy"), strict=True
    ):
        ax.plot(history["epoch"], history[metric], marker="o", ms=3, label="train")
        ax.plot(history["epoch"], history[f"val_{metric}"], marker="o", ms=3, label="validation")
        ax.axvline(best_epoch, color="grey", ls="--", lw=1, label=f"restored (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Training history")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrays", required=True, help="preprocessed .npz from img_preprocess")
    parser.add_argument("--model", required=True, help="output .keras file")
    parser.add_argument("--model-config", required=True, help="output JSON: config of the model")
    parser.add_argument("--history", required=True, help="output TSV of per-epoch metrics")
    parser.add_argument("--history-plot", required=True, help="output PNG of training curves")
    parser.add_argument("--model-name", default="small_cnn", help="seed_cnn, small_cnn or resnet")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--patience", type=int, default=10, help="early-stopping patience")
    parser.add_argument(
        "--lr-patience", type=int, default=4, help="halve the learning rate after N flat epochs"
    )
    parser.add_argument("--class-weighting", choices=["balanced", "none"], default="balanced")
    parser.add_argument("--width", type=int, default=32, help="filters of the first stage")
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--flip", action="store_true", help="augment: random horizontal flips")
    parser.add_argument("--rotation", type=float, default=0.0, help="augment: fraction of 2*pi")
    parser.add_argument("--translation", type=float, default=0.0, help="augment: fraction of size")
    parser.add_argument("--zoom", type=float, default=0.0, help="augment: zoom fraction")
    parser.add_argument("--contrast", type=float, default=0.0, help="augment: contrast factor")
    parser.add_argument("--seed", type=int, default=42)
    add_common_args(parser)
    return parser


def from_snakemake(smk: Any) -> dict[str, Any]:
    t = smk.params.train
    return {
        "arrays": smk.input.arrays,
        "model": smk.output.model,
        "model_config": smk.output.model_config,
        "history": smk.output.history,
        "history_plot": smk.output.history_plot,
        "model_name": t["model"],
        "epochs": t["epochs"],
        "batch_size": t["batch_size"],
        "learning_rate": t["learning_rate"],
        "patience": t["patience"],
        "lr_patience": t["lr_patience"],
        "class_weighting": t["class_weights"],
        "width": t["width"],
        "dropout": t["dropout"],
        **{key: t["augment"][key] for key in AUGMENT_KEYS},
        "seed": smk.params.seed,
        "threads": smk.threads,
    }


def main(
    arrays: str,
    model: str,
    model_config: str,
    history: str,
    history_plot: str,
    model_name: str = "small_cnn",
    epochs: int = 60,
    batch_size: int = 64,
    learning_rate: float = 0.001,
    patience: int = 10,
    lr_patience: int = 4,
    class_weighting: str = "balanced",
    width: int = 32,
    dropout: float = 0.3,
    flip: bool = False,
    rotation: float = 0.0,
    translation: float = 0.0,
    zoom: float = 0.0,
    contrast: float = 0.0,
    seed: int = 42,
    threads: int = 1,
) -> None:
    import img_models
    import keras
    import tensorflow as tf

    if model_name not in img_models.MODELS:
        raise InputError(f"imaging.train.model '{model_name}' is not one of {img_models.MODELS}")
    data = load_arrays(arrays)
    augment = {"flip": flip, "rotation": rotation, "translation": translation, "zoom": zoom}
    augment["contrast"] = contrast
    fitted, table, summary = train(
        data,
        model_name,
        epochs,
        batch_size,
        learning_rate,
        patience,
        lr_patience,
        class_weighting,
        width,
        dropout,
        augment,
        seed,
        threads,
    )
    config = {
        "model": model_name,
        "class_names": [str(c) for c in data["class_names"]],
        "input_shape": list(data["x_train"].shape[1:]),
        "seed": seed,
        "threads": threads,
        "train": {
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "patience": patience,
            "lr_patience": lr_patience,
            "class_weights": class_weighting,
            "width": width,
            "dropout": dropout,
            "augment": augment,
        },
        "preprocess": json.loads(str(data["preprocess_settings"])),
        "result": {k: v for k, v in summary.items() if k != "seconds"},
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    Path(model).parent.mkdir(parents=True, exist_ok=True)
    img_models.save_model_stable(fitted, model, config)
    write_json(config, model_config)
    write_table(table, history)
    plot_history(table, summary["best_epoch"], history_plot)


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
