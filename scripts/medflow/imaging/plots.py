"""The imaging branch's figures: training curves, confusion matrix, ROC curve (byte-stable PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def pyplot() -> Any:
    """matplotlib's pyplot on the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["text.parse_math"] = False  # class names are drawn as written, '$' and all
    return plt


def save(fig: Any, path: str | Path) -> None:
    """Save without the Software stamp, so reruns give the same bytes."""
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    pyplot().close(fig)


def kept_epoch(rows: pd.DataFrame) -> int:
    """The epoch a member keeps, as training chose it: its first best scored validation AUC, or
    its last scored epoch when no AUC could be measured (held-out images of one class)."""
    scored = rows[rows["val_accuracy"].notna()]
    if scored.empty:
        return int(rows["epoch"].max())
    if scored["val_auc"].notna().any():
        return int(scored.loc[scored["val_auc"].idxmax(), "epoch"])
    return int(scored["epoch"].max())


def plot_history(history: pd.DataFrame, path: str | Path) -> None:
    """Per member and epoch: training loss, validation AUC and accuracy (in the scored epochs
    only; the others are gaps); kept epochs marked."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    panels = (
        ("loss", "training loss"),
        ("val_auc", "validation AUC"),
        ("val_accuracy", "validation accuracy"),
    )
    for member, rows in history.groupby("member", sort=True):
        best = kept_epoch(rows)
        for ax, (column, _) in zip(axes, panels, strict=True):
            line = ax.plot(
                rows["epoch"], rows[column], marker="o", ms=2, lw=1, label=f"member {member}"
            )
            kept = rows.loc[rows["epoch"] == best, column]
            ax.plot([best], kept, marker="*", ms=10, color=line[0].get_color())
    for ax, (_, label) in zip(axes, panels, strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Training history (star: the epoch each member keeps, best scored validation AUC)")
    save(fig, path)


def plot_confusion(confusion: np.ndarray, class_names: list[str], path: str | Path) -> None:
    """The confusion matrix with counts and row percentages."""
    plt = pyplot()
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
    save(fig, path)


def plot_roc(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: list[str],
    positive: int,
    path: str | Path,
) -> None:
    """ROC curve of the positive class (two classes) or one-vs-rest per class."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = pyplot()
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
    save(fig, path)
