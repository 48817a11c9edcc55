"""Run the per-molecule pipeline (parse, standardize, descriptors, screen) on one chunk.

A process pool of `threads` workers each takes a batch of SMILES strings (never Mol objects, which
cost more to send than to rebuild) and returns plain rows: identity, descriptor values and every
failing reason. Rows keep the chunk's order, so the output does not depend on the thread count.
"""

import argparse
import json
import logging
import multiprocessing
from typing import Any

import mol_descriptors
import mol_screen
import pandas as pd
from mol_standardize import StandardizeError, Standardizer, identity, parse_smiles

from medflow_cli import InputError, add_common_args, progress, run_step

log = logging.getLogger("mol_process")
_WORKER: dict[str, Any] = {}


def descriptor_names(extra: list[str], filters: dict[str, Any]) -> list[str]:
    """Default descriptors, then the configured extras, then those only the filters need."""
    names = list(mol_descriptors.DEFAULT_DESCRIPTORS)
    for name in [*extra, *mol_screen.required_descriptors(filters)]:
        if name not in names:
            names.append(name)
    return names


def init_worker(settings: dict[str, Any]) -> None:
    """Build the costly objects (standardizer, alert catalogs, descriptor table) once per worker."""
    _WORKER["standardize"] = Standardizer(tautomer=settings["tautomer"])
    _WORKER["catalogs"] = mol_screen.build_alert_catalogs(settings["filters"].get("alerts", []))
    _WORKER["table"] = mol_descriptors.available_descriptors()
    _WORKER["names"] = descriptor_names(settings["descriptors"], settings["filters"])
    _WORKER["filters"] = settings["filters"]


def process_smiles(smiles: str) -> dict[str, Any]:
    """The whole pipeline for one SMILES; on failure a row with stage parse/standardize/descriptors."""
    try:
        mol = parse_smiles(smiles)
    except StandardizeError as error:
        return {"stage": "parse", "reasons": str(error)}
    try:
        mol = _WORKER["standardize"](mol)
        canonical, key = identity(mol)
    except StandardizeError as error:
        return {"stage": "standardize", "reasons": str(error)}
    try:
        values = mol_descriptors.compute_descriptors(mol, _WORKER["names"], _WORKER["table"])
    except Exception as error:  # any RDKit or descriptor failure rejects this molecule only
        return {"stage": "descriptors", "reasons": f"descriptor calculation failed: {error!r}"}
    failed = mol_screen.rule_reasons(values, _WORKER["filters"])
    failed += mol_screen.alert_reasons(mol, _WORKER["catalogs"])
    return {
        "stage": "screen" if failed else "",
        "reasons": "; ".join(reason for _, reason in failed),
        "failed_filters": ";".join(sorted({name for name, _ in failed})),
        "smiles": canonical,
        "inchikey": key,
        **values,
    }


def process_batch(batch: list[str]) -> list[dict[str, Any]]:
    """Pipeline rows for a batch of SMILES (one pool task)."""
    return [process_smiles(smiles) for smiles in batch]


def process_all(smiles: list[str], settings: dict[str, Any], threads: int) -> list[dict[str, Any]]:
    """Pipeline rows for every SMILES, in order, using `threads` worker processes."""
    size = max(1, min(200, len(smiles) // (threads * 4) or 1))
    batches = [smiles[i : i + size] for i in range(0, len(smiles), size)]
    rows: list[dict[str, Any]] = []
    if threads <= 1:
        init_worker(settings)
        for batch in progress(batches, total=len(batches), desc="molecule batches"):
            rows += process_batch(batch)
        return rows
    with multiprocessing.get_context("fork").Pool(threads, init_worker, (settings,)) as pool:
        for part in progress(
            pool.imap(process_batch, batches), total=len(batches), desc="molecule batches"
        ):
            rows += part
    return rows


def process_frame(chunk: pd.DataFrame, settings: dict[str, Any], threads: int) -> pd.DataFrame:
    """The chunk's records with the pipeline's columns added."""
    rows = process_all(chunk["smiles"].tolist(), settings, threads)
    names = descriptor_names(settings["descriptors"], settings["filters"])
    columns = ["stage", "reasons", "failed_filters", "smiles", "inchikey", *names]
    result = pd.DataFrame(rows, columns=columns)
    result[["reasons", "failed_filters", "smiles", "inchikey"]] = result[
        ["reasons", "failed_filters", "smiles", "inchikey"]
    ].fillna("")
    records = chunk.rename(columns={"smiles": "input_smiles"}).reset_index(drop=True)
    return pd.concat([records, result], axis=1)


def main(chunk: str, output: str, settings: dict[str, Any], threads: int = 1) -> None:
    """Process one chunk file into one Parquet table (one row per input record)."""
    names = [*settings["descriptors"], *settings["filters"].get("ranges", {})]
    unknown = mol_descriptors.unknown_descriptor_messages(names)
    if unknown:
        raise InputError("molecules.descriptors / molecules.filters.ranges: " + "; ".join(unknown))
    frame = process_frame(pd.read_parquet(chunk), settings, threads)
    frame.to_parquet(output, index=False)
    counts = frame["stage"].replace("", "hit").value_counts().to_dict()
    log.info("%s: %d records, by outcome %s", chunk, len(frame), counts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("chunk", help="chunk Parquet file from mol_split.py")
    parser.add_argument("output", help="output Parquet file")
    parser.add_argument(
        "--settings",
        type=json.loads,
        default={
            "tautomer": False,
            "descriptors": [],
            "filters": {"lipinski": True, "lipinski_violations": 1},
        },
        help='JSON: {"tautomer": bool, "descriptors": [...], "filters": {...}} (config.yaml molecules keys)',
    )
    add_common_args(parser)
    return parser


def from_snakemake(smk: Any) -> dict[str, Any]:
    return {
        "chunk": smk.input.chunk,
        "output": smk.output.table,
        "settings": dict(smk.params.settings),
        "threads": smk.threads,
    }


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
