"""Final molecule tables: ranked hits, rejects with every reason, and a summary of counts per stage.

The counts must add up: records in = hits + rejects + duplicates merged into another record.
"""

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import mol_screen
import pandas as pd
from mol_split import REJECT_COLUMNS

from medflow_cli import add_common_args, run_step

log = logging.getLogger("mol_report")
HIT_COLUMNS = ["rank", "score", "id", "inchikey", "smiles", "forcefield", "energy_kcal_mol"]


def filter_order(filters: dict[str, Any]) -> list[str]:
    """Enabled filter names in screening order: rules, ranges, then the alert sets."""
    ranges = ["range"] if filters.get("ranges") else []
    return [*mol_screen.enabled_rules(filters), *ranges, *filters.get("alerts", [])]


def funnel(screened: pd.DataFrame, filters: list[str]) -> list[tuple[str, int]]:
    """Molecules left after applying each filter in turn (the funnel plot's bars)."""
    failed = screened["failed_filters"].str.split(";").apply(set)
    left = pd.Series(True, index=screened.index)
    steps = [("unique molecules", int(left.sum()))]
    for name in filters:
        left &= ~failed.apply(lambda names, name=name: name in names)
        steps.append((f"after {name}", int(left.sum())))
    return steps


def build_tables(
    screened: pd.DataFrame,
    record_rejects: pd.DataFrame,
    optimized: pd.DataFrame,
    counts: dict,
    filters: list[str],
) -> dict[str, pd.DataFrame]:
    """hits, rejects and summary tables; raises RuntimeError if the counts do not add up."""
    embed_failed = optimized[optimized["status"] == "failed"].set_index("inchikey")["reason"]
    screened = screened.assign(
        stage=screened["stage"].mask(screened["inchikey"].isin(embed_failed.index), "optimize"),
        reasons=screened["reasons"].mask(
            screened["inchikey"].isin(embed_failed.index), screened["inchikey"].map(embed_failed)
        ),
    )
    passed = screened[screened["stage"] == ""]
    energies = optimized[optimized["status"] == "ok"][["inchikey", "forcefield", "energy_kcal_mol"]]
    hits = mol_screen.rank_hits(passed).merge(energies, on="inchikey", how="left")
    extra = [
        c
        for c in hits.columns
        if c not in HIT_COLUMNS and c not in ("stage", "reasons", "failed_filters")
    ]
    hits = hits[HIT_COLUMNS + extra]
    rejected = screened[screened["stage"] != ""]
    rejects = pd.concat(
        [record_rejects, rejected[[*REJECT_COLUMNS, "all_ids", "all_records"]]], ignore_index=True
    )
    fails = screened["failed_filters"].str.split(";").explode()
    rows = [("input", key, value) for key, value in counts.items()]
    rows += [("screen", f"failing {name}", int((fails == name).sum())) for name in filters]
    rows += [("funnel", step, value) for step, value in funnel(screened, filters)]
    rows += [
        ("screen", "screened out", int((screened["stage"] == "screen").sum())),
        ("optimize", "optimized in 3D", int((optimized["status"] == "ok").sum())),
        ("optimize", "embedding or minimization failed", len(embed_failed)),
        ("output", "hits", len(hits)),
        ("output", "rejects", len(rejects)),
    ]
    if counts["records_in"] != len(hits) + len(rejects) + counts["duplicates_merged"]:
        raise RuntimeError(f"counts do not add up: {rows}")
    summary = pd.DataFrame(rows, columns=["section", "step", "count"])
    return {"hits": hits, "rejects": rejects, "summary": summary}


def main(
    screened: str,
    record_rejects: str,
    optimized: str,
    counts: str,
    hits: str,
    rejects: str,
    summary: str,
    filters: dict[str, Any],
) -> None:
    """Write hits.csv, rejects.csv and summary.tsv."""
    tables = build_tables(
        pd.read_parquet(screened),
        pd.read_csv(record_rejects, keep_default_na=False),
        pd.read_csv(optimized, keep_default_na=False),
        json.loads(Path(counts).read_text()),
        filter_order(filters),
    )
    tables["hits"].to_csv(hits, index=False)
    tables["rejects"].to_csv(rejects, index=False)
    tables["summary"].to_csv(summary, sep="\t", index=False)
    log.info("%d hits, %d rejects", len(tables["hits"]), len(tables["rejects"]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("screened", "record-rejects", "optimized", "counts"):
        parser.add_argument(f"--{name}", required=True, help=f"input: {name.replace('-', ' ')}")
    for name in ("hits", "rejects", "summary"):
        parser.add_argument(f"--{name}", required=True, help=f"output: {name}")
    parser.add_argument(
        "--filters", type=json.loads, default={}, help="JSON of config.yaml's molecules.filters"
    )
    add_common_args(parser, threads=False)
    return parser


def from_snakemake(smk: Any) -> dict[str, Any]:
    return {
        **dict(smk.input.items()),
        **dict(smk.output.items()),
        "filters": dict(smk.params.filters),
    }


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
