"""The report's front page: each enabled branch's headline figures and one or two pictures.

Pure functions turn the branches' own result files into rows of (label, value) and an HTML fragment
with the pictures embedded as data URIs, so the page stands alone inside Snakemake's report.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

STYLE = (
    "<style>.mf-front{font-family:sans-serif}.mf-front table{border-collapse:collapse;margin:.3em 0}"
    ".mf-front td,.mf-front th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
    ".mf-front img{max-width:100%;margin:.3em 0;border:1px solid #eee}</style>"
)


FUNNEL_SECTIONS = ("funnel", "output")


def fmt(value: Any) -> str:
    """A figure for people: 3 decimals for fractions, thousands separators for counts."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def imaging_rows(metrics: dict) -> list[tuple[str, str]]:
    """Headline figures of the test-split evaluation (MedMNIST's ACC and AUC first)."""
    rows = [
        ("test images", fmt(metrics.get("n_test"))),
        ("classes", ", ".join(metrics.get("class_names", []))),
        ("accuracy (ACC)", fmt(metrics.get("accuracy"))),
        ("ROC AUC", fmt(metrics.get("roc_auc"))),
    ]
    if "balanced_accuracy" in metrics:
        rows.append(("balanced accuracy", fmt(metrics["balanced_accuracy"])))
    return rows


def sequences_rows(summary: dict) -> list[tuple[str, str]]:
    """Cluster count, records, and agreement with the known groups when labels were given."""
    rows = [
        ("records clustered", fmt(summary.get("records"))),
        ("unique sequences", fmt(summary.get("unique"))),
        ("clusters", fmt(summary.get("clusters"))),
    ]
    if summary.get("adjusted_rand_index") is not None:
        rows += [
            ("adjusted Rand index vs labels", fmt(summary["adjusted_rand_index"])),
            ("normalized mutual information", fmt(summary.get("normalized_mutual_info"))),
        ]
    return rows


def prediction_rows(diagnoses_tsv: str | Path, rejects_tsv: str | Path) -> list[tuple[str, str]]:
    """The new images diagnosed, per predicted class (most first, then by name), and the new files
    that could not be read, when there are any."""
    with open(diagnoses_tsv, newline="") as handle:
        classes = [row["predicted_class"] for row in csv.DictReader(handle, delimiter="\t")]
    with open(rejects_tsv, newline="") as handle:
        unreadable = sum(1 for _ in csv.DictReader(handle, delimiter="\t"))
    rows = [("new images diagnosed", fmt(len(classes)))]
    counts = Counter(classes)
    rows += [(f"diagnosed {name}", fmt(n)) for name, n in sorted(counts.items(), key=by_count)]
    if unreadable:
        rows.append(("new files unreadable", fmt(unreadable)))
    return rows


def by_count(item: tuple[str, int]) -> tuple[int, str]:
    """Most first, then by name."""
    return -item[1], item[0]


def molecules_rows(summary_tsv: str | Path, hits_csv: str | Path) -> list[tuple[str, str]]:
    """The funnel of summary.tsv (records read, each screen's survivors, outputs) and the hit count.

    The per-reason counts stay in summary.tsv; the front page keeps the funnel, or every row when the
    table has no funnel section.
    """
    with open(summary_tsv, newline="") as handle:
        table = list(csv.DictReader(handle, delimiter="\t"))
    funnel = [r for r in table if r["section"] in FUNNEL_SECTIONS or r["step"] == "records_in"]
    rows = [(f"{r['section']}: {r['step']}", fmt(int(r["count"]))) for r in funnel or table]
    with open(hits_csv, newline="") as handle:
        hits = sum(1 for _ in csv.DictReader(handle))
    return [*rows, ("ranked hits", fmt(hits))]


def provenance_rows(record: dict) -> list[tuple[str, str]]:
    """What a reviewer needs to rerun: seed, config hash and medflow's commit."""
    medflow = record.get("medflow", {})
    commit = medflow.get("git_commit") or "not a git checkout"
    if medflow.get("git_dirty"):
        commit += " (with uncommitted changes)"
    return [
        ("seed", fmt(record.get("config", {}).get("seed"))),
        ("config sha256", str(record.get("config_sha256", "n/a"))),
        ("medflow", f"{medflow.get('version', 'unknown')}, commit {commit}"),
    ]


def image_tag(path: str | Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/>'


def table(rows: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
        for label, value in rows
    )
    return f"<table>{body}</table>"


def section(title: str, rows: list[tuple[str, str]], pictures: list[tuple[str, str]]) -> str:
    """One branch: a heading, its figures, its pictures (path, caption)."""
    images = "".join(image_tag(path, caption) for path, caption in pictures)
    return f"<h2>{html.escape(title)}</h2>{table(rows)}{images}"


def front_page(sections: list[str], provenance: list[tuple[str, str]]) -> str:
    """The whole fragment: branch sections first, then the rerun facts."""
    parts = [STYLE, '<div class="mf-front">', *sections]
    parts += ["<h2>Run</h2>", table(provenance), "</div>"]
    return "\n".join(parts) + "\n"


def terminal_summary(branches: list[tuple[str, list[tuple[str, str]]]], page: str | Path) -> str:
    """The headline figures as a few lines for the terminal at the end of a run: one line per
    branch (its title, then label value pairs), and where the pictures and details are."""
    lines = [f"medflow results (figures and pictures: {page}):"]
    for title, rows in branches:
        lines.append(f"  {title}: " + "; ".join(f"{label} {value}" for label, value in rows))
    return "\n".join(lines) + "\n"


def load_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
