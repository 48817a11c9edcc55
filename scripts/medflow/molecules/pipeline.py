"""The per-molecule pipeline: parse, standardize, descriptors, screen; every outcome is a row.

A process pool of `threads` workers each takes a batch of SMILES strings (never Mol objects, which
cost more to send than to rebuild) and returns plain rows: identity, descriptor values and every
failing reason. Rows keep the chunk's order, so the output does not depend on the thread count.

With `early_exit` (molecules.early_exit) the checks run cheapest first: the rules on the cheap
descriptors, then the structural alerts, then the expensive descriptors (qed, SAScore, extras) and
the ranges. A molecule that fails a stage skips the later ones; its row keeps every reason found so
far and names the checks not reached (`not_reached`), and the descriptors not computed stay empty.
The verdict (hit or not, and the stage) is the same either way.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import pandas as pd
from rdkit import Chem

from medflow.molecules import descriptors as desc
from medflow.molecules import screen
from medflow.molecules.progress import Library, Progress
from medflow.molecules.standardize import (
    StandardizeError,
    Standardizer,
    identity,
    parse_molblock,
    parse_smiles,
    swapped_hint,
)

log = logging.getLogger("medflow.molecules")
TEXT_COLUMNS = [
    "reasons",
    "failed_filters",
    "not_reached",
    "removed_fragments",
    "smiles",
    "inchikey",
]


def settings_of(section: dict[str, Any]) -> dict[str, Any]:
    """The pipeline's part of the molecules config section."""
    keys = ("tautomer", "metals", "descriptors", "filters", "early_exit")
    return {key: section[key] for key in keys}


def output_names(settings: dict[str, Any]) -> list[str]:
    """Every descriptor column of a processed chunk, in order."""
    return desc.descriptor_names(
        settings["descriptors"], screen.required_descriptors(settings["filters"])
    )


def output_columns(settings: dict[str, Any]) -> list[str]:
    """The columns the pipeline adds to a chunk's records."""
    return ["stage", *TEXT_COLUMNS, *output_names(settings)]


class Molblock(str):
    """An SDF record's text: only these are read as molblocks (a SMILES with a line break from a
    text file stays a SMILES, and fails as one)."""

    __slots__ = ()


@dataclass
class Worker:
    """The costly objects (standardizer, alert catalogs, descriptor table) of one process."""

    settings: dict[str, Any]

    def __post_init__(self) -> None:
        filters = self.settings["filters"]
        self.filters = filters
        self.standardize = Standardizer(
            tautomer=self.settings["tautomer"], metals=self.settings.get("metals", "keep")
        )
        self.catalogs = screen.build_alert_catalogs(filters.get("alerts", []))
        self.table = desc.available_descriptors()
        self.names = output_names(self.settings)
        self.early_exit = bool(self.settings["early_exit"])
        self.cheap, self.expensive = desc.split_by_cost(
            self.names, self.settings["descriptors"], screen.rule_descriptors(filters)
        )
        self.ranges = sorted(filters.get("ranges", {}))

    def values(self, mol: Any, names: list[str]) -> dict[str, float]:
        return desc.compute_descriptors(mol, names, self.table)

    def not_reached(self, stage: str) -> list[str]:
        """The checks after `stage` ('rules' or 'alerts'), named for the rejects table."""
        later = [] if stage == "alerts" else list(self.catalogs)
        return later + [f"range {name}" for name in self.ranges]

    def __call__(self, text: str) -> dict[str, Any]:
        """The whole pipeline for one SMILES (or SDF record, given as a Molblock); on failure a row
        with stage parse/standardize/descriptors. An SDF record's row gets its SMILES as
        `input_smiles`."""
        sdf: dict[str, str] = {}
        try:
            if isinstance(text, Molblock):
                sdf["input_smiles"] = ""
                mol = parse_molblock(text)
                sdf["input_smiles"] = Chem.MolToSmiles(mol)
            else:
                mol = parse_smiles(text)
        except StandardizeError as error:
            return {"stage": "parse", "reasons": str(error), **sdf}
        return {**self.standardized(mol), **sdf}

    def standardized(self, mol: Any) -> dict[str, Any]:
        """Standardize, identify, compute and screen one parsed molecule."""
        try:
            mol, removed = self.standardize.parent(mol)
            canonical, key = identity(mol)
        except StandardizeError as error:
            return {"stage": "standardize", "reasons": str(error)}
        row: dict[str, Any] = {
            "removed_fragments": ".".join(removed),
            "smiles": canonical,
            "inchikey": key,
        }
        names = self.cheap if self.early_exit else self.names
        try:
            values = self.values(mol, names)
            failed = screen.rule_reasons(values, self.filters)
            skipped: list[str] = []
            if self.early_exit and failed:
                skipped = self.not_reached("rules")
            else:
                failed += screen.alert_reasons(mol, self.catalogs)
                if self.early_exit and failed:
                    skipped = self.not_reached("alerts")
                else:
                    if self.early_exit:
                        values.update(self.values(mol, self.expensive))
                    failed += screen.range_reasons(values, self.filters)
        except Exception as error:  # any RDKit or descriptor failure rejects this molecule only
            reason = f"descriptor calculation failed: {error!r}"
            return {"stage": "descriptors", "reasons": reason, **row}
        return {
            "stage": "screen" if failed else "",
            "reasons": "; ".join(reason for _, reason in failed),
            "failed_filters": ";".join(sorted({name for name, _ in failed})),
            "not_reached": "; ".join(skipped),
            **row,
            **values,
        }


_WORKER: dict[str, Worker] = {}


def init_worker(settings: dict[str, Any]) -> None:
    """Build this process's Worker once (pool initializer, or the one process of a serial run)."""
    _WORKER["run"] = Worker(settings)


def process_batch(batch: list[str]) -> list[dict[str, Any]]:
    """Pipeline rows for a batch of SMILES (one pool task)."""
    run = _WORKER["run"]
    return [run(smiles) for smiles in batch]


def batches_of(smiles: list[str], threads: int) -> list[list[str]]:
    """Pool tasks: small enough to balance the workers, large enough to amortize the transfer."""
    size = max(1, min(200, len(smiles) // (threads * 4) or 1))
    return [smiles[i : i + size] for i in range(0, len(smiles), size)]


def process_all(
    smiles: list[str],
    settings: dict[str, Any],
    threads: int,
    label: str = "molecules",
    library: Library | None = None,
    console: TextIO | None = None,
) -> Iterator[dict[str, Any]]:
    """Pipeline rows for every SMILES, in order, using `threads` worker processes; progress in the
    log (and the library's count, see medflow.molecules.progress)."""
    batches = batches_of(smiles, threads)
    progress = Progress(len(smiles), label, library=library, console=console)
    if threads <= 1:
        init_worker(settings)
        results: Iterable[list[dict[str, Any]]] = map(process_batch, batches)
        for part in results:
            progress.update(len(part))
            yield from part
        return
    with multiprocessing.get_context("fork").Pool(threads, init_worker, (settings,)) as pool:
        for part in pool.imap(process_batch, batches):
            progress.update(len(part))
            yield from part


def process_frame(
    chunk: pd.DataFrame,
    settings: dict[str, Any],
    threads: int,
    label: str = "molecules",
    library: Library | None = None,
    console: TextIO | None = None,
) -> pd.DataFrame:
    """The chunk's records with the pipeline's columns added (one row per record)."""
    texts = chunk["smiles"].tolist()
    if "molblock" in chunk:
        texts = [
            Molblock(block) if block else smiles
            for smiles, block in zip(texts, chunk["molblock"], strict=True)
        ]
        chunk = chunk.drop(columns="molblock")
    rows = list(process_all(texts, settings, threads, label, library, console))
    result = pd.DataFrame(rows, columns=output_columns(settings))
    result[TEXT_COLUMNS] = result[TEXT_COLUMNS].fillna("")
    records = chunk.rename(columns={"smiles": "input_smiles"}).reset_index(drop=True)
    from_sdf = [row["input_smiles"] for row in rows if "input_smiles" in row]
    if from_sdf:
        mask = [("input_smiles" in row) for row in rows]
        records.loc[mask, "input_smiles"] = from_sdf
    if "id" in records:
        unparsed = result["reasons"].str.startswith("unparseable SMILES")
        result.loc[unparsed, "reasons"] = [
            reason + swapped_hint(mol_id)
            for reason, mol_id in zip(
                result.loc[unparsed, "reasons"], records.loc[unparsed, "id"], strict=True
            )
        ]
    return pd.concat([records, result], axis=1)
