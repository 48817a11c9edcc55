"""Keep README.md's generated parts true: configuration tables from the schema, figures from bench/.

README.md marks each generated part with a pair of comments:

    <!-- BEGIN generated: config sequences.clustering -->   every key under that config path
    <!-- BEGIN generated: config -->                        the top-level keys and switches
    <!-- BEGIN generated: bench -->                          the table of bench/results.json
    <!-- BEGIN generated: family-sets -->                    bench_pfam_sets's sets, one row each
    ...
    <!-- END generated -->

`python -m medflow.readme` (from scripts/, or `make readme`) rewrites them; a test fails when the
README differs from what this module would write, so no default or figure is ever typed twice.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

from medflow.config import REPO_ROOT, keys_under, schema_at

README = REPO_ROOT / "README.md"
BENCH_RESULTS = REPO_ROOT / "bench" / "results.json"
BLOCK = re.compile(
    r"(<!-- BEGIN generated: (?P<what>[^>]*?) -->\n)(?P<body>.*?)(<!-- END generated -->)", re.S
)


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def default_text(schema: dict) -> str:
    value = yaml.safe_dump(schema.get("default"), default_flow_style=True, width=1000).strip()
    return value.removesuffix("...").strip()


def config_table(path: str) -> str:
    """Markdown rows for every key under a config path (sections too): key, default, description."""
    lines = ["| key | default | description |", "| --- | --- | --- |"]
    for key, schema in keys_under(path, schema_at(path), sections=True):
        lines.append(
            f"| `{key}` | `{cell(default_text(schema))}` | {cell(schema.get('description', ''))} |"
        )
    return "\n".join(lines) + "\n"


def top_config_table() -> str:
    """The top-level keys: seed, and each branch's section and switch (its other keys are in
    the branch's own table)."""
    lines = ["| key | default | description |", "| --- | --- | --- |"]
    for key in ("seed", *(f"{b}{part}" for b in BRANCHES for part in ("", ".enabled"))):
        schema = schema_at(key)
        text = schema.get("description", "")
        if "." not in key and key != "seed":
            text += " Its other keys: the branch's table above."
        lines.append(f"| `{key}` | `{cell(default_text(schema))}` | {cell(text)} |")
    return "\n".join(lines) + "\n"


BRANCHES = ("molecules", "sequences", "imaging")


def figure(value: object) -> str:
    """A measured figure as bench/results.md prints it: 3 significant digits, or whole thousands."""
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return cell(value)


def ratio(row: dict) -> str:
    return f"{row['workflow'] / row['baseline']:.2f}" if row.get("baseline") else "n/a"


def bench_table(results_file: Path = BENCH_RESULTS) -> str:
    """The benchmark rows, ratio first: what the README may quote, taken from bench/results.json."""
    data = json.loads(results_file.read_text())
    lines = [
        "| benchmark | ratio | workflow | baseline (same run) | unit |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rows in data["results"].values():
        for row in rows:
            lines.append(
                f"| {cell(row['benchmark'])} | {ratio(row)} | {figure(row['workflow'])} | "
                f"{figure(row['baseline'])} ({cell(row['baseline_name'])}) | {cell(row['unit'])} |"
            )
    return "\n".join(lines) + "\n"


def family_sets_table(results_file: Path = BENCH_RESULTS) -> str:
    """bench_pfam_sets's rows as one table: each set's ARI (clusters) per column."""
    rows = json.loads(results_file.read_text())["results"].get("bench_pfam_sets", [])
    sets = [row["set"] for row in rows]
    columns = list(sets[0]["columns"]) if sets else []
    lines = [
        "| set | sequences | " + " | ".join(columns) + " |",
        "| --- | --- |" + " --- |" * len(columns),
    ]
    for found in sets:
        cells = [f"{c['ari']:.3f} ({c['clusters']})" for c in found["columns"].values()]
        cells[0] = f"**{cells[0]}**"
        lines.append(
            f"| {cell(found['name'])} | {found['sequences']} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def render_block(what: str) -> str:
    kind, _, argument = what.partition(" ")
    if kind == "config":
        return config_table(argument.strip()) if argument.strip() else top_config_table()
    if kind == "bench":
        return bench_table()
    if kind == "family-sets":
        return family_sets_table()
    raise ValueError(f"README.md: unknown generated block '{what}'")


def render(text: str) -> str:
    """The README text with every generated block written anew."""
    return BLOCK.sub(lambda m: m[1] + render_block(m["what"]) + m[4], text)


def main() -> int:
    text = README.read_text()
    new = render(text)
    if new != text:
        README.write_text(new)
        print("README.md: generated blocks rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
