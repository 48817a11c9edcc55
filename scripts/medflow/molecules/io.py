"""Reading molecule files (.smi/.csv/.tsv/.sdf, optionally .gz) record by record, and chunking them.

Every record becomes a chunk row (file, record, id, smiles or an SDF record's molblock) or an
input-rejects row (file, record,
id, input_smiles, stage, reasons); `record` is the line number of a text record or of an SDF record's
first line, 0 for problems with a whole file. Files are read as streams: no step holds a whole
library in memory to read or split it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

REJECT_COLUMNS = ["file", "record", "id", "input_smiles", "stage", "reasons"]
CHUNK_COLUMNS = ["file", "record", "id", "smiles", "molblock"]  # molblock: SDF records only
FAILED_STAGES = ("parse", "standardize", "descriptors")  # a processed record with no molecule
AUTO_CHUNK_MAX = 50_000  # molecules per chunk when molecules.chunk_size is 0 (automatic)
GZIP_MAGIC = b"\x1f\x8b"


class UnreadableFile(Exception):
    """A whole input file that cannot be read (the message is its rejects reason)."""


def encode_list(values: list) -> str:
    """A list as one table cell: JSON, so IDs holding ';' or ',' (DrugBank's 'DB11331;DB14095')
    stay whole. Read back with json.loads."""
    return json.dumps(values, ensure_ascii=False)


def open_text(path: str) -> io.TextIOBase:
    """Open a text file, gunzipping `.gz` files; UnreadableFile when a .gz file is not gzip. A
    UTF-8 byte-order mark (which Windows editors and Excel write) is dropped."""
    if path.endswith(".gz"):
        with open(path, "rb") as handle:
            start = handle.read(2)
        if start and start != GZIP_MAGIC:
            raise UnreadableFile(
                "the name ends in .gz but the file is not gzip-compressed; "
                "compress it (gzip FILE) or drop .gz from its name"
            )
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return open(path, newline="", encoding="utf-8-sig")


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
    """SMILES files: SMILES first, ID second (whitespace-separated); a header line is skipped. A
    CXSMILES extension after the SMILES (`CCO |$a;b;c$| ethanol`) stays with the SMILES."""
    with open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            fields = split_smiles_line(line)
            if not fields or fields[0].startswith("#"):
                continue
            if line_no == 1 and fields[0].lower() in {"smiles", smiles_column.lower()}:
                continue
            mol_id = fields[1] if len(fields) > 1 else f"{path}:{line_no}"
            yield {"file": path, "record": line_no, "id": mol_id, "smiles": fields[0]}


def split_smiles_line(line: str) -> list[str]:
    """[SMILES] or [SMILES, ID] of one line; a CXSMILES extension (`|...|` after a space) is part
    of the SMILES, which RDKit reads with it."""
    fields = line.strip().split(None, 1)
    if len(fields) == 2 and fields[1].startswith("|"):
        end = fields[1].find("|", 1)
        if end > 0:
            rest = fields[1][end + 1 :].strip()
            return [f"{fields[0]} {fields[1][: end + 1]}", *([rest] if rest else [])]
    return fields


def read_table(path: str, smiles_column: str, id_column: str) -> Iterator[dict]:
    """CSV/TSV files with a header naming the SMILES and (optional) ID columns."""
    delimiter = "\t" if ".tsv" in Path(path).suffixes else ","
    with open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        header = [name.strip() for name in header]  # open_text drops a byte-order mark
        if smiles_column not in header:
            other = "," if delimiter == "\t" else "\t"
            hint = ""
            if len(header) == 1 and other in header[0]:
                hint = f" (the header holds {other!r}: is the file's extension right?)"
            yield reject(
                path,
                1,
                f"no column '{smiles_column}' in the header (columns: {', '.join(header)}){hint}; "
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
    """SDF records as text (molblock) with their IDs; RDKit parses them in the per-chunk pipeline,
    in parallel, where an unreadable record becomes a 'parse' rejects row."""
    for line_no, block in sdf_blocks(path):
        mol_id = sdf_property(block, id_property) or f"{path}:{line_no}"
        yield {"file": path, "record": line_no, "id": mol_id, "smiles": "", "molblock": block}


def _rows(path: str, settings: dict[str, Any]) -> Iterator[dict]:
    name = path.lower()
    if ".sdf" in Path(name).suffixes:
        return read_sdf(path, settings["sdf_id_property"])
    if name.endswith((".smi", ".smi.gz")):
        return read_smi(path, settings["smiles_column"])
    return read_table(path, settings["smiles_column"], settings["id_column"])


def read_file(path: str, settings: dict[str, Any]) -> Iterator[dict]:
    """Records and rejects rows of one input file, in file order, at most max_records of them.

    A file that stops being readable (not gzip, not UTF-8 text, a broken CSV quote) ends with one
    rejects row (record 0) saying after how many records and why; an empty file gives one too.
    """
    limit = settings.get("max_records") or None
    seen = 0
    try:
        for row in _rows(path, settings):
            yield row
            seen += 1
            if limit and seen >= limit:
                return
    except UnreadableFile as error:
        yield reject(path, 0, str(error))
        return
    except UnicodeDecodeError as error:
        yield reject(
            path,
            0,
            f"unreadable file after {seen} records: not UTF-8 text ({error.reason} at byte "
            f"{error.start} of a read block); save it as UTF-8 text",
        )
        return
    except (OSError, EOFError, csv.Error) as error:
        yield reject(path, 0, f"unreadable file after {seen} records: {error}")
        return
    if not seen:
        yield reject(path, 0, "empty file: no molecule records")


def count_lines(path: str, limit: int | None) -> int:
    """Records in a file, roughly (text lines, or '$$$$' lines for SDF), for sizing the chunks."""
    marker = b"$$$$" if ".sdf" in Path(path.lower()).suffixes else None
    count = 0
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as handle:
            for line in handle:
                if marker is None or line.startswith(marker):
                    count += 1
                    if limit and count >= limit:
                        break
    except (OSError, EOFError):
        pass  # read_file reports the problem
    return count


def chunk_size_for(total: int, configured: int) -> int:
    """molecules.chunk_size, or when 0 (automatic) as few chunks of at most AUTO_CHUNK_MAX as the
    library needs, of equal size: each chunk job then runs a pool over all the cores it is given."""
    if configured:
        return configured
    chunks = max(1, math.ceil(total / AUTO_CHUNK_MAX))
    return max(1, math.ceil(total / chunks))


class ChunkWriter:
    """Writes records into numbered Parquet chunks of `size` rows as they arrive."""

    def __init__(self, folder: str | Path, size: int):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.size = size
        self.rows: list[dict] = []
        self.chunks = 0
        self.records = 0

    def add(self, row: dict) -> None:
        self.rows.append(row)
        self.records += 1
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.chunks += 1
            frame = pd.DataFrame(self.rows, columns=CHUNK_COLUMNS)
            frame["molblock"] = frame["molblock"].fillna("")
            frame.to_parquet(self.folder / f"{self.chunks:04d}.parquet", index=False)
            self.rows = []
