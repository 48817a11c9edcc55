"""From class probabilities to decisions and figures: MedMNIST's metrics, thresholds, ensembles.

Pure NumPy (scikit-learn for AUC), no TensorFlow and no knowledge of the config layout: the steps
pass plain values. MedMNIST v2 (Yang et al., 2023, `medmnist.evaluator`) defines its two headline
metrics as: ACC = accuracy of the argmax (multi-class) or of `p(positive) > 0.5` (binary); AUC = the
ROC AUC of the positive class (binary) or the one-vs-rest AUC averaged over classes (multi-class,
macro). `medmnist_metrics` computes exactly these, so figures compare with the paper's tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

EPSILON = 1e-7


class DecisionError(ValueError):
    """A decision setting that does not fit the data (for example an unknown positive class)."""


def positive_index(class_names: list[str], positive_class: str) -> int:
    """Index of the class called positive in binary metrics: the named one, else the last."""
    if not positive_class:
        return len(class_names) - 1
    if positive_class not in class_names:
        raise DecisionError(
            f"positive class '{positive_class}' is not one of the classes {list(class_names)}"
        )
    return list(class_names).index(positive_class)


def decide(probabilities: np.ndarray, positive: int, threshold: float) -> np.ndarray:
    """Predicted class per row: for two classes, positive when its probability > threshold
    (MedMNIST's rule); otherwise the most probable class."""
    probabilities = np.asarray(probabilities)
    if probabilities.shape[1] == 2:
        return np.where(probabilities[:, positive] > threshold, positive, 1 - positive)
    return probabilities.argmax(axis=1)


def mean_probabilities(members: Iterable[np.ndarray]) -> np.ndarray:
    """The ensemble's probabilities: the mean of its members' (or test-time views') rows."""
    stack = np.stack([np.asarray(m, dtype=np.float64) for m in members])
    return stack.mean(axis=0)


def best_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The cut on binary scores with the highest accuracy (ties: the one nearest 0.5).

    Candidates are the midpoints between consecutive distinct scores (and 0.5 itself), so the
    choice does not depend on where inside a gap the cut lies.
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    distinct = np.unique(scores)
    candidates = np.concatenate([[0.5], (distinct[:-1] + distinct[1:]) / 2])
    accuracy = np.array([((scores > t) == labels).mean() for t in candidates])
    best = np.flatnonzero(accuracy == accuracy.max())
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPSILON, 1 - EPSILON)
    return np.log(p) - np.log1p(-p)


def recentre(probabilities: np.ndarray, positive: int, threshold: float) -> np.ndarray:
    """Binary probabilities shifted on the logit scale so that `threshold` becomes 0.5.

    A monotone map: the ranking (so AUC) is unchanged, and `p > 0.5` afterwards is `p > threshold`
    before. Training stores the validation-chosen threshold; evaluation and prediction apply it, so
    MedMNIST's ACC at 0.5 is read at the operating point chosen on the validation split.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.shape[1] != 2 or threshold == 0.5:
        return probabilities
    shifted = 1.0 / (1.0 + np.exp(-(logit(probabilities[:, positive]) - logit(threshold))))
    out = np.empty_like(probabilities)
    out[:, positive], out[:, 1 - positive] = shifted, 1.0 - shifted
    return out


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


def rounded(value: float | None) -> float | None:
    """Round for stable JSON; undefined values (a class absent from the split) become null."""
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


def medmnist_auc(labels: np.ndarray, probabilities: np.ndarray, positive: int) -> float | None:
    """MedMNIST's AUC: the positive class's ROC AUC (binary), one-vs-rest macro (multi-class).

    None when the labels lack a class (the AUC is then undefined).
    """
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    n_classes = probabilities.shape[1]
    if len(np.unique(labels)) < n_classes:
        return None
    if n_classes == 2:
        return float(roc_auc_score(labels == positive, probabilities[:, positive]))
    return float(roc_auc_score(labels, probabilities, multi_class="ovr", average="macro"))


def medmnist_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: list[str],
    positive: int,
    threshold: float,
) -> dict[str, Any]:
    """MedMNIST's ACC and AUC, beside balanced accuracy, F1 and per-class sensitivity and
    specificity, as plain JSON-ready values."""
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score

    labels = np.asarray(labels)
    n_classes = len(class_names)
    predicted = decide(probabilities, positive, threshold)
    confusion = confusion_matrix(labels, predicted, labels=list(range(n_classes)))
    sensitivity, specificity = per_class_rates(confusion)
    present = np.unique(labels).astype(int)
    metrics: dict[str, Any] = {
        "n": len(labels),
        "class_names": list(class_names),
        "counts": {c: int((labels == k).sum()) for k, c in enumerate(class_names)},
        "accuracy": rounded(float((predicted == labels).mean())),
        "roc_auc": rounded(medmnist_auc(labels, probabilities, positive)),
        "balanced_accuracy": rounded(balanced_accuracy_score(labels, predicted)),
        "confusion_matrix": confusion.tolist(),
        "per_class": {
            c: {"sensitivity": rounded(sensitivity[k]), "specificity": rounded(specificity[k])}
            for k, c in enumerate(class_names)
        },
    }
    if n_classes == 2:
        metrics.update(
            decision=f"{class_names[positive]} when its probability > {threshold}",
            positive_class=class_names[positive],
            threshold=threshold,
            sensitivity=rounded(sensitivity[positive]),
            specificity=rounded(sensitivity[1 - positive]),
            f1=rounded(f1_score(labels, predicted, pos_label=positive, zero_division=0)),
        )
    else:
        metrics.update(
            decision="the most probable class",
            # means over the classes the test split holds (an absent class's specificity is
            # defined, but says nothing of the test images of that class, which are none)
            sensitivity=rounded(np.mean(sensitivity[present])),
            specificity=rounded(np.mean(specificity[present])),
            f1=rounded(
                f1_score(
                    labels,
                    predicted,
                    average="macro",
                    # the classes the test split holds, as sensitivity's and balanced accuracy's
                    # means: a class without test images would count as F1 0
                    labels=sorted(int(k) for k in np.unique(labels)),
                    zero_division=0,
                )
            ),
        )
    return metrics


def prediction_table(
    files: Iterable[str],
    probabilities: np.ndarray,
    predicted: np.ndarray,
    class_names: list[str],
    labels: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per image, sorted by file: file, true class (when known), predicted class, and
    the probability of every class."""
    names = np.array(class_names)
    columns: dict[str, Any] = {"file": list(files)}
    if labels is not None:
        columns["true_class"] = names[np.asarray(labels)]
    columns["predicted_class"] = names[np.asarray(predicted, dtype=np.int64)]
    table = pd.DataFrame(columns)
    for k, name in enumerate(class_names):
        table[f"probability_{name}"] = np.round(probabilities[:, k], 6)
    return table.sort_values("file", kind="stable").reset_index(drop=True)
