"""Evaluate the trained model on the held-out test split: metrics, confusion matrix and ROC curve.

Metrics (metrics.json): accuracy, balanced accuracy, ROC AUC, sensitivity, specificity and F1.
For two classes they refer to the positive class (config, else the last class) at the configured
threshold; for more classes AUC is one-vs-rest macro-averaged, F1 is macro-averaged, and
sensitivity/specificity are given per class and macro-averaged. Every test image's probabilities
are written too, so each one ends in a row.
"""

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np
from img_io import (
    add_decision_args,
    decide,
    decision_settings,
    positive_index,
    prediction_table,
    write_json,
    write_table,
)

from medflow_cli import InputError, add_common_args, run_step

log = logging.getLogger("medflow.img_evaluate")


def per_class_rates(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sensitivity (recall) and specificity of every class from a confusion matrix."""
    confusion = np.asarray(confusion, dtype=np.float64)
    total = confusion.sum()
    tp = np.diag(confusion)
    fn = confusion.sum(axis=1) - tp
    fp = confusion.sum(axis=0) - tp
    tn = total - tp - fn - fp
    with np.errstate(invalid="ignore", divide="ignore"):
        return tp / (tp + fn), tn / (tn + fp)


def nan_to_none(value: float) -> float | None:
    """Round for stable JSON; undefined values (a class absent from the test set) become null."""
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


def compute_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: list[str],
    positive_class: str | None,
    threshold: float,
) -> dict[str, Any]:
    """Every metric of the test split, as plain JSON-ready values."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        f1_score,
        roc_auc_score,
    )

    labels = np.asarray(labels)
    n_classes = len(class_names)
    positive = positive_index(class_names, positive_class)
    predicted = decide(probabilities, positive, threshold)
    confusion = confusion_matrix(labels, predicted, labels=list(range(n_classes)))
    sensitivity, specificity = per_class_rates(confusion)
    present = np.unique(labels)
    metrics: dict[str, Any] = {
        "n_test": len(labels),
        "class_names": list(class_names),
        "test_counts": {c: int((labels == k).sum()) for k, c in enumerate(class_names)},
        "accuracy": nan_to_none(accuracy_score(labels, predicted)),
        "balanced_accuracy": nan_to_none(balanced_accuracy_score(labels, predicted)),
        "confusion_matrix": confusion.tolist(),
    }
    if n_classes == 2:
        auc = (
            roc_auc_score(labels == positive, probabilities[:, positive])
            if len(present) == 2
            else None
        )
        metrics.update(
            positive_class=class_names[positive],
            threshold=threshold,
            roc_auc=nan_to_none(auc),
            sensitivity=nan_to_none(sensitivity[positive]),
            specificity=nan_to_none(sensitivity[1 - positive]),
            f1=nan_to_none(f1_score(labels, predicted, pos_label=positive, zero_division=0)),
        )
    else:
        auc = (
            roc_auc_score(labels, probabilities, multi_class="ovr", average="macro")
            if len(present) == n_classes
            else None
        )
        metrics.update(
            roc_auc=nan_to_none(auc),
            sensitivity=nan_to_none(np.nanmean(sensitivity)),
            specificity=nan_to_none(np.nanmean(specificity)),
            f1=nan_to_none(
                f1_score(labels, predicted, average="macro", labels=list(range(n_classes)))
            ),
            per_class={
                c: {
                    "sensitivity": nan_to_none(sensitivity[k]),
                    "specificity": nan_to_none(specificity[k]),
                }
                for k, c in enumerate(class_names)
            },
        )
    if auc is None:
        log.warning("ROC AUC is undefined: the test split lacks some classes (%s)", present)
    return metrics


def plot_confusion(confusion: np.ndarray, class_names: list[str], path: str | Path) -> None:
    """The confusion matrix with counts and row percentages."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confusion = np.asarray(confusion)
    rows = confusion.sum(axis=1, keepdims=True)
    share = np.divide(confusion, rows, out=np.zeros(confusion.shape), where=rows > 0)
    size = 2.5 + 0.6 * len(class_names)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(confusion):
        colour = "white" if share[i, j] > 0.5 else "black"
        ax.text(j, i, f"{count}\n{share[i, j]:.0%}", ha="center", va="center", color=colour)
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Test split: confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def plot_roc(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: list[str],
    positive: int,
    path: str | Path,
) -> None:
    """ROC curve of the positive class (two classes) or one-vs-rest per class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_auc_score, roc_curve

    labels = np.asarray(labels)
    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    shown = [positive] if len(class_names) == 2 else range(len(class_names))
    for k in shown:
        truth = labels == k
        if truth.all() or not truth.any():
            continue
        fpr, tpr, _ = roc_curve(truth, probabilities[:, k])
        auc = roc_auc_score(truth, probabilities[:, k])
        ax.plot(fpr, tpr, lw=1.8, label=f"{class_names[k]} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="chance")
    ax.set_xlabel("1 - specificity (false-positive rate)")
    ax.set_ylabel("sensitivity (true-positive rate)")
    ax.set_title("Test split: ROC curve")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrays", required=True, help="preprocessed .npz from img_preprocess")
    parser.add_argument("--model", required=True, help="trained .keras model")
    parser.add_argument("--metrics", required=True, help="output metrics.json")
    parser.add_argument("--predictions", required=True, help="output TSV of test predictions")
    parser.add_argument("--confusion-plot", required=True, help="output PNG")
    parser.add_argument("--roc-plot", required=True, help="output PNG")
    add_decision_args(parser)
    add_common_args(parser)
    return parser


def from_snakemake(smk: Any) -> dict[str, Any]:
    return {
        "arrays": smk.input.arrays,
        "model": smk.input.model,
        "metrics": smk.output.metrics,
        "predictions": smk.output.predictions,
        "confusion_plot": smk.output.confusion_plot,
        "roc_plot": smk.output.roc_plot,
        **decision_settings(smk),
    }


def main(
    arrays: str,
    model: str,
    metrics: str,
    predictions: str,
    confusion_plot: str,
    roc_plot: str,
    positive_class: str | None = None,
    threshold: float = 0.5,
    batch_size: int = 256,
    seed: int = 42,
    threads: int = 1,
) -> None:
    import img_models
    import keras
    from img_train import load_arrays

    img_models.configure_determinism(seed, threads)
    data = load_arrays(arrays)
    class_names = [str(c) for c in data["class_names"]]
    positive = positive_index(class_names, positive_class)
    labels = data["y_test"]
    if len(labels) == 0:
        raise InputError("the test split is empty; there is nothing to evaluate")
    network = keras.models.load_model(model)
    probabilities = img_models.class_probabilities(network, data["x_test"], batch_size)
    result = compute_metrics(labels, probabilities, class_names, positive_class, threshold)
    predicted = decide(probabilities, positive, threshold)
    table = prediction_table(data["files_test"], probabilities, predicted, class_names, labels)
    assert len(table) == len(data["x_test"]), "every test image has a prediction row"
    write_json(result, metrics)
    write_table(table, predictions)
    plot_confusion(np.array(result["confusion_matrix"]), class_names, confusion_plot)
    plot_roc(labels, probabilities, class_names, positive, roc_plot)
    log.info(
        "test: accuracy %s, balanced accuracy %s, ROC AUC %s",
        result["accuracy"],
        result["balanced_accuracy"],
        result["roc_auc"],
    )


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
