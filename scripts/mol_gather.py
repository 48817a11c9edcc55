"""Gather the processed chunks: merge duplicates by InChIKey (keeping every source ID) and write
the standardized and descriptor tables, the screened unique molecules and the failed records."""

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from mol_split import REJECT_COLUMNS

from medflow_cli import InputError, add_common_args, run_step

log = logging.getLogger("mol_gather")
IDENTITY = ["inchikey", "smiles", "id", "file", "record", "input_smiles"]


def merge_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per InChIKey (its first record, in input order) with every ID and record listed."""
    located = frame.assign(where=frame["file"] + ":" + frame["record"].astype(str))
    groups = located.groupby("inchikey", sort=False)
    merged = groups.agg(
        n_records=("id", "size"), all_ids=("id", ";".join), all_records=("where", ";".join)
    )
    first = frame.drop_duplicates("inchikey", keep="first").set_index("inchikey")
    return first.join(merged).reset_index()


def descriptor_columns(frame: pd.DataFrame) -> list[str]:
    """Descriptor columns of a processed chunk: everything after 'inchikey'."""
    columns = list(frame.columns)
    return columns[columns.index("inchikey") + 1 :]


def gather(chunks: list[pd.DataFrame], input_rejects: pd.DataFrame) -> dict[str, Any]:
    """Unique molecules, failed records and the stage counts of the whole library."""
    frame = pd.concat(chunks, ignore_index=True)
    failed_mask = frame["stage"].isin(["parse", "standardize", "descriptors"])
    failed = frame.loc[failed_mask, REJECT_COLUMNS]
    standardized = frame.loc[~failed_mask]
    unique = merge_duplicates(standardized)
    counts = {
        "records_in": len(frame) + len(input_rejects),
        "input_rejects": len(input_rejects),
        "parse_failed": int((frame["stage"] == "parse").sum()),
        "standardize_failed": int((frame["stage"] == "standardize").sum()),
        "descriptors_failed": int((frame["stage"] == "descriptors").sum()),
        "standardized": len(standardized),
        "duplicates_merged": len(standardized) - len(unique),
        "unique_molecules": len(unique),
    }
    rejects = pd.concat([input_rejects, failed], ignore_index=True)
    return {
        "unique": unique,
        "rejects": rejects,
        "counts": counts,
        "names": descriptor_columns(frame),
    }


def main(
    chunks: list[str],
    input_rejects: str,
    standardized: str,
    descriptors_parquet: str,
    descriptors_csv: str,
    screened: str,
    record_rejects: str,
    counts: str,
) -> None:
    """Write the gathered tables; fail when no record of the library gave a usable molecule."""
    result = gather(
        [pd.read_parquet(c) for c in sorted(chunks)],
        pd.read_csv(input_rejects, keep_default_na=False),
    )
    unique, names = result["unique"], result["names"]
    if unique.empty:
        reasons = "; ".join(
            f"{r.file} (record {r.record}): {r.reasons}"
            for r in result["rejects"].head(5).itertuples()
        )
        raise InputError(
            f"no usable molecule: all {result['counts']['records_in']} input records failed parsing, "
            f"standardization or descriptors, e.g. {reasons}. Check the files in molecules.inputs."
        )
    unique[[*IDENTITY, "n_records", "all_ids", "all_records"]].to_csv(standardized, index=False)
    table = unique[["inchikey", "id", "smiles", *names]]
    table.to_parquet(descriptors_parquet, index=False)
    table.to_csv(descriptors_csv, index=False)
    unique.to_parquet(screened, index=False)
    result["rejects"].to_csv(record_rejects, index=False)
    Path(counts).write_text(json.dumps(result["counts"], indent=2) + "\n")
    log.info("gathered %d chunks: %s", len(chunks), result["counts"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("chunks", nargs="+", help="processed chunk Parquet files (mol_process.py)")
    parser.add_argument("--input-rejects", required=True, help="input rejects CSV (mol_split.py)")
    for name in (
        "standardized",
        "descriptors-parquet",
        "descriptors-csv",
        "screened",
        "record-rejects",
        "counts",
    ):
        parser.add_argument(f"--{name}", required=True, help=f"output: {name.replace('-', ' ')}")
    add_common_args(parser, threads=False)
    return parser


def from_snakemake(smk: Any) -> dict[str, Any]:
    return {
        "chunks": list(smk.input.chunks),
        "input_rejects": smk.input.rejects,
        **dict(smk.output.items()),
    }


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
