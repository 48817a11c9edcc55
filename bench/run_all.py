"""Run medflow's benchmarks and write bench/results.md (and bench/results.json, its data).

Each bench/bench_*.py module exposes run(quick) -> rows; a row holds the workflow's figure and a
baseline's figure measured in the same run, so the ratio is what to quote (these machines are noisy).
`--only NAME...` reruns some modules and keeps the other modules' last rows from results.json.
Benchmarks are never timing assertions in the test suite.
"""

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO / "scripts")]

from medflow.readme import figure as fmt  # noqa: E402 - after the path set-up above
from medflow.readme import ratio  # noqa: E402

ROW_KEYS = ("benchmark", "unit", "workflow", "baseline", "baseline_name")


def discover() -> list[str]:
    return sorted(p.stem for p in BENCH.glob("bench_*.py"))


def check_row(row: dict) -> dict:
    missing = [key for key in ROW_KEYS if key not in row]
    if missing:
        raise ValueError(f"benchmark row {row} lacks {missing}")
    return row


def print_rows(rows: list[dict]) -> None:
    """A benchmark module's rows on the console, when it runs on its own."""
    for row in rows:
        print(
            f"{row['benchmark']}: {fmt(row['workflow'])} vs {fmt(row['baseline'])} {row['unit']} "
            f"(ratio {ratio(row)}; baseline: {row['baseline_name']}) {row.get('notes', '')}",
            flush=True,
        )


def to_markdown(results: dict[str, list[dict]], seconds: dict[str, float]) -> str:
    lines = [
        "# medflow benchmarks",
        "",
        "Written by `python bench/run_all.py`. Each row's baseline ran in the same process, on the",
        "same data, just before or after the workflow's step; quote the ratio, not the raw figure.",
        "",
        "| module | benchmark | unit | workflow | baseline | baseline is | ratio | notes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for module, rows in results.items():
        for row in rows:
            cells = [
                module,
                row["benchmark"],
                row["unit"],
                fmt(row["workflow"]),
                fmt(row["baseline"]),
                row["baseline_name"],
                ratio(row),
                row.get("notes", ""),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Time spent per module (s): " + ", ".join(f"{m} {s:.0f}" for m, s in seconds.items()),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", nargs="*", help="module names to run (default: all)")
    parser.add_argument("--output", default=str(BENCH / "results.md"), help="markdown to write")
    args = parser.parse_args()
    store = Path(args.output).with_suffix(".json")
    results, seconds = {}, {}
    if args.only and store.is_file():
        kept = json.loads(store.read_text())
        results, seconds = kept["results"], kept["seconds"]
    for name in args.only or discover():
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        module = importlib.import_module(name)
        results[name] = [check_row(row) for row in module.run(quick=args.quick)]
        seconds[name] = time.perf_counter() - start
        print_rows(results[name])
    if args.only and store.is_file():  # another run may have written other modules meanwhile
        latest = json.loads(store.read_text())
        measured = set(args.only)
        results = {**latest["results"], **{m: results[m] for m in measured}}
        seconds = {**latest["seconds"], **{m: seconds[m] for m in measured}}
    results = dict(sorted(results.items()))
    seconds = {name: seconds[name] for name in results}
    store.write_text(json.dumps({"results": results, "seconds": seconds}, indent=1) + "\n")
    Path(args.output).write_text(to_markdown(results, seconds))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
