"""Molecule plots: descriptor distributions with the filter thresholds drawn, the filter funnel,
and a grid image of the top-ranked hits. PNGs carry no software or date metadata (byte-stable)."""

import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from rdkit import Chem
from rdkit.Chem import Draw

from medflow.molecules import screen

plt.rcParams["text.parse_math"] = False  # names are drawn as written, '$' and all


def thresholds(filters: dict[str, Any]) -> dict[str, list[tuple[float, str]]]:
    """Per descriptor, the (value, filter name) lines the enabled filters impose."""
    lines: dict[str, list[tuple[float, str]]] = {}
    for name, (descriptor, low, high) in screen.bounds(filters):
        for value in (low, high):
            if value is not None and (value, name) not in lines.get(descriptor, []):
                lines.setdefault(descriptor, []).append((value, name))
    return lines


def plot_distributions(table: pd.DataFrame, filters: dict[str, Any], path: str) -> None:
    """One histogram per descriptor of the unique molecules, filter thresholds as dashed lines."""
    names = [c for c in table.columns if c not in ("inchikey", "id", "smiles")]
    lines = thresholds(filters)
    cols = 4
    fig, axes = plt.subplots(
        math.ceil(len(names) / cols),
        cols,
        figsize=(4 * cols, 3 * math.ceil(len(names) / cols)),
        squeeze=False,
    )
    colors = dict(
        zip(
            ["lipinski", "veber", "ghose", "egan", "range"],
            plt.get_cmap("tab10").colors,
            strict=False,
        )
    )
    for ax, name in zip(axes.flat, names, strict=False):
        ax.hist(table[name].dropna(), bins=40, color="0.6")
        for value, rule in lines.get(name, []):
            ax.axvline(value, color=colors[rule], linestyle="--", label=f"{rule} {value:g}")
        if name in lines:
            ax.legend(fontsize=7)
        ax.set_title(name, fontsize=9)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    fig.suptitle(f"Descriptors of {len(table)} unique standardized molecules")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def plot_funnel(summary: pd.DataFrame, path: str) -> None:
    """Horizontal bars: molecules left after each filter, applied in turn."""
    steps = summary[summary["section"] == "funnel"]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(steps) + 1.2))
    ax.barh(steps["step"], steps["count"], color="tab:blue")
    for y, count in enumerate(steps["count"]):
        ax.text(count, y, f" {count}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("molecules")
    ax.set_title("Screening funnel")
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def draw_hits(hits: pd.DataFrame, size: int, path: str) -> None:
    """Grid image of the top `size` hits, labelled with rank, ID and score."""
    top = hits.head(size)
    if top.empty:
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.text(0.5, 0.5, "no hits passed the screen", ha="center", va="center")
        ax.axis("off")
        fig.savefig(path, dpi=100, metadata={"Software": None})
        plt.close(fig)
        return
    mols = [Chem.MolFromSmiles(s) for s in top["smiles"]]
    legends = [f"#{r.rank} {r.id} ({r.score:.2f})" for r in top.itertuples()]
    image = Draw.MolsToGridImage(mols, molsPerRow=4, subImgSize=(250, 250), legends=legends)
    image.save(path, format="PNG")
