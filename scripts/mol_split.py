"""Read molecule files (.smi/.csv/.tsv/.sdf, optionally .gz) and split the records into chunks.

Every record becomes a chunk row (file, record, id, smiles) or an input-rejects row (file, record,
id, input_smiles, stage, reasons); `record` is the line number of a text record or of an SDF record's
first line, 0 for problems with a whole file. Chunks are Parquet files processed as separate jobs.
"""

import argparse
import csv
import gzip
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from rdkit import Chem, RDLogger

from medflow_cli import InputError, add_common_args, run_step

RDLogger.DisableLog("rdApp.*")
log = logging.getLogger("mol_split")
REJECT_COLUMNS = ["file", "record", "id", "input_smiles", "stage", "reasons"]


def open_text(path: str) -> io.TextIOBase:
    """Open a text file, gunzipping `.gz` files."""
    if path.endswith(".gz"):
        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


def reject(path: str, record: int, reason: str, mol_id: str = "", smiles: str = "") -> dict:
    """One input-rejects row."""
    return {
        "file": path,
        "record": record,
        "id": mol_id,
        "input_smiles": smiles,
        "stage": "input",
        "reasons": reason,
    }


def read_smi(path: str, smiles_column: str) -> Iterator[dict]:
    """SMILES files: SMILES first, ID second (whitespace-separated); a header line is skipped."""
    with open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            fields = line.strip().split(None, 1)
            if not fields or fields[0].startswith("#"):
                continue
            if line_no == 1 and fields[0].lower() in {"smiles", smiles_column.lower()}:
                continue
            mol_id = fields[1].strip() if len(fields) > 1 else f"{path}:{line_no}"
            yield {"file": path, "record": line_no, "id": mol_id, "smiles": fields[0]}


def read_table(path: str, smiles_column: str, id_column: str) -> Iterator[dict]:
    """CSV/TSV files with a header naming the SMILES and (optional) ID columns."""
    delimiter = "\t" if ".tsv" in Path(path).suffixes else ","
    with open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        if smiles_column not in header:
            yield reject(
                path,
                1,
                f"no column '{smiles_column}' in the header (columns: {', '.join(header)}); "
                "set molecules.smiles_column to the SMILES column's name",
            )
            return
        s_col = header.index(smiles_column)
        i_col = header.index(id_column) if id_column in header else None
        for fields in reader:
            line_no = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            smiles = fields[s_col].strip() if s_col < len(fields) else ""
            mol_id = fields[i_col].strip() if i_col is not None and i_col < len(fields) else ""
            mol_id = mol_id or f"{path}:{line_no}"
            if not smiles:
                yield reject(path, line_no, "empty SMILES field", mol_id)
            else:
                yield {"file": path, "record": line_no, "id": mol_id, "smiles": smiles}


def sdf_blocks(path: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of every SDF record; the '$$$$' lines separate records."""
    with open_text(path) as handle:
        lines: list[str] = []
        start = 1
        for line_no, line in enumerate(handle, start=1):
            if line.startswith("$$$$"):
                yield start, "".join(lines)
                lines, start = [], line_no + 1
            else:
                lines.append(line)
        if "".join(lines).strip():
            yield start, "".join(lines)


def sdf_property(block: str, name: str) -> str:
    """A data item of an SDF record ('_Name' is the title line); '' when absent."""
    lines = block.splitlines()
    if name == "_Name":
        return lines[0].strip() if lines else ""
    for i, line in enumerate(lines[:-1]):
        if line.startswith(">") and f"<{name}>" in line:
            return lines[i + 1].strip()
    return ""


def read_sdf(path: str, id_property: str) -> Iterator[dict]:
    """SDF records turned into SMILES; unreadable or unsanitizable records become rejects rows."""
    for line_no, block in sdf_blocks(path):
        mol_id = sdf_property(block, id_property) or f"{path}:{line_no}"
        mol = Chem.MolFromMolBlock(block)
        if mol is None:
            raw = Chem.MolFromMolBlock(block, sanitize=False)
            reason = "unreadable SDF record (malformed molblock)"
            if raw is not None:
                try:
                    Chem.SanitizeMol(raw)
                except Exception as error:
                    reason = f"SDF record fails sanitization: {error}"
            yield reject(path, line_no, reason, mol_id)
        elif mol.GetNumAtoms() == 0:
            yield reject(path, line_no, "SDF record has no atoms", mol_id)
        else:
            yield {"file": path, "record": line_no, "id": mol_id, "smiles": Chem.MolToSmiles(mol)}


def read_file(path: str, settings: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """(records, rejects) of one input file, at most settings['max_records'] of them."""
    name = path.lower()
    if ".sdf" in Path(name).suffixes:
        rows = read_sdf(path, settings["sdf_id_property"])
    elif name.endswith((".smi", ".smi.gz")):
        rows = read_smi(path, settings["smiles_column"])
    else:
        rows = read_table(path, settings["smiles_column"], settings["id_column"])
    records, rejects = [], []
    limit = settings.get("max_records") or None
    try:
        for row in rows:
            (rejects if "reasons" in row else records).append(row)
            if limit and len(records) + len(rejects) >= limit:
                break
    except (OSError, UnicodeDecodeError, EOFError, csv.Error) as error:
        rejects.append(reject(path, 0, f"unreadable file after {len(records)} records: {error}"))
    if not records and not rejects:
        rejects.append(reject(path, 0, "empty file: no molecule records"))
    return records, rejects


def split(records: list[dict], chunk_size: int) -> list[pd.DataFrame]:
    """Consecutive chunks of at most chunk_size records."""
    frame = pd.DataFrame(records, columns=["file", "record", "id", "smiles"])
    return [frame.iloc[i : i + chunk_size] for i in range(0, len(frame), chunk_size)]


def main(
    inputs: list[str],
    chunks: str,
    rejects: str,
    chunk_size: int = 1000,
    smiles_column: str = "smiles",
    id_column: str = "id",
    sdf_id_property: str = "_Name",
    max_records: int = 0,
) -> None:
    """Read every input, write the chunks and the input rejects; fail if no record has a SMILES."""
    settings = {
        "smiles_column": smiles_column,
        "id_column": id_column,
        "sdf_id_property": sdf_id_property,
        "max_records": max_records,
    }
    records, bad = [], []
    for path in inputs:
        good, wrong = read_file(path, settings)
        log.info("%s: %d records, %d input rejects", path, len(good), len(wrong))
        records += good
        bad += wrong
    if not records:
        reasons = "; ".join(f"{r['file']} (record {r['record']}): {r['reasons']}" for r in bad[:5])
        raise InputError(
            f"no usable molecule in the molecule inputs {', '.join(inputs)}: {reasons}. "
            "Check molecules.inputs and the column settings (molecules.smiles_column)."
        )
    Path(chunks).mkdir(parents=True, exist_ok=True)
    parts = split(records, chunk_size)
    for number, part in enumerate(parts, start=1):
        part.to_parquet(Path(chunks) / f"{number:04d}.parquet", index=False)
    pd.DataFrame(bad, columns=REJECT_COLUMNS).to_csv(rejects, index=False)
    log.info("%d records in %d chunks; %d input rejects", len(records), len(parts), len(bad))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("inputs", nargs="+", help="molecule files")
    parser.add_argument("--chunks", required=True, help="output folder for the chunk files")
    parser.add_argument("--rejects", required=True, help="output CSV of input rejects")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--smiles-column", default="smiles")
    parser.add_argument("--id-column", default="id")
    parser.add_argument("--sdf-id-property", default="_Name")
    parser.add_argument("--max-records", type=int, default=0, help="per file; 0 reads all")
    add_common_args(parser, threads=False)
    return parser


def from_snakemake(smk: Any) -> dict[str, Any]:
    return {
        "inputs": list(smk.input.molecules),
        "chunks": smk.output.chunks,
        "rejects": smk.output.rejects,
        **dict(smk.params.settings),
    }


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
