"""Reading molecule files (.smi/.csv/.tsv/.sdf, optionally .gz) record by record, and chunking them.

Every record becomes a chunk row (file, record, id, smiles or an SDF record's molblock) or an
input-rejects row (file, record,
id, input_smiles, stage, reasons); `record` is the line number of a text record or of an SDF record's
first line, 0 for problems with a whole file. Files are read as streams: no step holds a whole
library in memory to read or split it.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import logging
import math
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from medflow.step import not_utf8_text

REJECT_COLUMNS = ["file", "record", "id", "input_smiles", "stage", "reasons"]
CHUNK_COLUMNS = ["file", "record", "id", "smiles", "molblock"]  # molblock: SDF records only
FAILED_STAGES = ("parse", "standardize", "descriptors")  # a processed record with no molecule
AUTO_CHUNK_MAX = 50_000  # molecules per chunk when molecules.chunk_size is 0 (automatic)
GZIP_MAGIC = b"\x1f\x8b"
# csv's field limit: its default (131,072 characters) is short of a big peptide's SMILES; a limit
# still bounds what a quote left open can swallow before it is reported
CSV_FIELD_MAX = 1 << 24
# Records counted below this are taken as a miscount when sizing automatic chunks (count_lines)
AUTO_CHUNK_MIN = 1000
# open_bytes looks at a file's first HEAD_BYTES for UTF-16 or UTF-32 text
HEAD_BYTES = 1024
SMILES_TOKEN = re.compile(r"^[A-Za-z0-9@+\-\[\]()=#$%/\\.:*~]+$")  # SMILES characters, no spaces
LONE_CR = re.compile(r"(?<=\r)(?!\n)")  # a line end of old Mac files (CR alone)
ID_BREAKS = re.compile(r"[\r\n\t]+")
ID_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")

log = logging.getLogger("medflow.molecules")


class UnreadableFile(Exception):
    """A whole input file that cannot be read (the message is its rejects reason)."""


def encode_list(values: list) -> str:
    """A list as one table cell: JSON, so IDs holding ';' or ',' (DrugBank's 'DB11331;DB14095')
    stay whole. Read back with json.loads."""
    return json.dumps(values, ensure_ascii=False)


def is_gzip(path: str) -> bool:
    """Whether a file starts with gzip's magic bytes, whatever its name."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def opener_of(path: str) -> Any:
    """gzip.open for `.gz` files and for gzip data under another name (`lib.smi` that is really
    `lib.smi.gz`: read as what it is, with a warning), else open."""
    if path.lower().endswith(".gz"):
        return gzip.open
    if is_gzip(path):
        if path not in WARNED_GZIP:
            WARNED_GZIP.add(path)
            log.warning("%s holds gzip-compressed data; it is read as such (name it .gz)", path)
        return gzip.open
    return open


WARNED_GZIP: set[str] = set()


def open_bytes(path: str) -> io.BufferedIOBase:
    """Open a file for reading bytes, gunzipping gzip files (opener_of); UnreadableFile when a .gz
    file is not gzip, or the text is UTF-16 or UTF-32 (medflow.step.not_utf8_text)."""
    if path.lower().endswith(".gz") and not is_gzip(path) and Path(path).stat().st_size:
        raise UnreadableFile(
            "the name ends in .gz but the file is not gzip-compressed; "
            "compress it (gzip FILE) or drop .gz from its name"
        )
    opener = opener_of(path)
    with opener(path, "rb") as handle:
        problem = not_utf8_text(handle.read(HEAD_BYTES))
    if problem:
        raise UnreadableFile(problem)
    return opener(path, "rb")


def read_lines(path: str) -> Iterator[tuple[int, str | None]]:
    """(line number, text with its line end) of every line of a text file (gunzipped for `.gz`),
    decoded line by line: a line that is not UTF-8 comes as None, so the lines around it are still
    read. Line ends may be LF, CRLF or CR; a UTF-8 byte-order mark starting a line is dropped (the
    file's own, or one of each file joined with `cat`)."""
    with open_bytes(path) as handle:
        number = 0
        for raw in handle:
            if raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                number += 1
                yield number, None
                continue
            for part in LONE_CR.split(line) if "\r" in line else (line,):
                if part:
                    number += 1
                    yield number, part


def not_utf8(path: str, line_no: int) -> dict:
    """The rejects row of a line that is not UTF-8 text."""
    return reject(
        path,
        line_no,
        f"line {line_no} is not UTF-8 text (e.g. Latin-1 or Windows-1252 accents); save the file "
        "as UTF-8 text (the other lines are read)",
    )


def clean_id(mol_id: str) -> str:
    """An ID with its line breaks and tabs replaced by spaces (they would break SDF and TSV
    outputs) and other control characters (NUL, ESC, form feed, U+2028...) written as their
    escapes (`eth\\x00anol`), so that every output shows them and no terminal acts on them."""
    text = ID_BREAKS.sub(" ", mol_id)
    text = ID_CONTROLS.sub(lambda found: found.group().encode("unicode_escape").decode(), text)
    return text.strip()


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
    """SMILES files: SMILES first, ID second (whitespace-separated; on a line holding a tab, the
    tab-separated second column, further columns ignored); a header line is skipped. A CXSMILES
    extension after the SMILES (`CCO |$a;b;c$| ethanol`) stays with the SMILES."""
    first = True  # the first line that is not blank or a comment may be a header
    for line_no, line in read_lines(path):
        if line is None:
            yield not_utf8(path, line_no)
            first = False
            continue
        fields = split_smiles_line(line)
        if not fields or fields[0].startswith("#"):
            continue
        header, first = first, False
        if header and swapped_header(fields, smiles_column):
            yield reject(
                path,
                line_no,
                f"the header {line.strip()[:60]!r} names the ID column first: a .smi file holds "
                "the SMILES first and the ID second, so every line would be read with its ID as "
                "the SMILES; swap the two columns, or name the file .tsv (tab-separated) or .csv "
                "so that the header decides (molecules.smiles_column, molecules.id_column)",
            )
            continue
        if header and fields[0].lower() in HEADERS | {smiles_column.lower()}:
            continue  # a header line (smiles, ChEMBL's canonical_smiles, ...)
        if header and fields[0].split(",")[0].lower() in HEADERS and "," in fields[0]:
            yield reject(
                path,
                line_no,
                f"the first line {line.strip()[:60]!r} looks like a comma-separated header: a "
                ".smi file holds SMILES and ID separated by spaces or tabs; name a "
                "comma-separated file .csv (and set molecules.smiles_column)",
            )
            continue
        mol_id = fields[1] if len(fields) > 1 else f"{path}:{line_no}"
        if not fields[0]:
            yield reject(path, line_no, "empty SMILES field (the line starts with a tab)", mol_id)
            continue
        yield {"file": path, "record": line_no, "id": mol_id, "smiles": fields[0]}


HEADERS = {"smiles", "canonical_smiles", "smi", "structure", "id", "name"}
ID_HEADERS = {"id", "name"}


def swapped_header(fields: list[str], smiles_column: str) -> bool:
    """Whether a .smi file's first line is a header naming the ID column before the SMILES
    column ('id smiles', 'name canonical_smiles')."""
    smiles_names = (HEADERS - ID_HEADERS) | {smiles_column.lower()}
    return (
        len(fields) == 2 and fields[0].lower() in ID_HEADERS and fields[1].lower() in smiles_names
    )


def split_smiles_line(line: str) -> list[str]:
    """[SMILES] or [SMILES, ID] of one line; a CXSMILES extension (`|...|` after a space) is part
    of the SMILES, which RDKit reads with it. A line holding a tab is split on tabs: SMILES, then
    ID; the further columns are ignored. Where the tab column is empty or a number (a property:
    `CCO my id<TAB>9`), a space-separated ID in the first column is the ID; where it is text, a
    space in the first column is inside the SMILES field (`CCN(CC) CC<TAB>TEA-001`), which
    standardization rejects, under the tab column's ID."""
    text = line.strip()
    if not text:
        return []
    raw = line.rstrip("\r\n")
    columns = raw.split("\t") if "\t" in raw else None
    if columns:
        text = columns[0].strip()
        if not text:  # an empty SMILES field before the tab: [''] or ['', ID]
            return ["", *[c.strip() for c in columns[1:2] if c.strip()]]
    fields = text.split(None, 1)
    if len(fields) == 2 and fields[1].startswith("|"):
        end = fields[1].find("|", 1)
        if end > 0:
            rest = fields[1][end + 1 :].strip()
            fields = [f"{fields[0]} {fields[1][: end + 1]}", *([rest] if rest else [])]
    if columns:
        tab_id = next((c.strip() for c in columns[1:2] if c.strip()), "")
        if tab_id and len(fields) == 2 and not is_number(tab_id):
            fields = [text]  # a space inside the SMILES field, the ID after the tab: a reject
        fields += [tab_id] if tab_id and len(fields) == 1 else []
    return fields


def is_number(text: str) -> bool:
    """Whether a field reads as a number (a property column, never an ID)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


class LineFeed:
    """The decoded lines of a file for csv.reader, keeping those of the record being read and
    the numbers of the lines that are not UTF-8 (left out of the records)."""

    def __init__(self, path: str):
        self.lines = read_lines(path)
        self.taken: list[tuple[int, str]] = []
        self.bad: list[int] = []

    def __iter__(self) -> LineFeed:
        return self

    def __next__(self) -> str:
        while True:
            line_no, line = next(self.lines)
            if line is None:
                self.bad.append(line_no)
                continue
            self.taken.append((line_no, line))
            return line

    def record(self) -> tuple[list[tuple[int, str]], list[int]]:
        """(the lines of the record just read, the non-UTF-8 line numbers met on the way)."""
        taken, bad = self.taken, self.bad
        self.taken, self.bad = [], []
        return taken, bad


def swallowed(
    fields: list[str], header: list[str], s_col: int, lines: list[str], delimiter: str
) -> bool:
    """Whether a record spanning several lines is a stray quote that swallowed the lines after it
    rather than a well-formed quoted field with line breaks: it then has another number of fields
    than the header, a line break in the SMILES, a quote still open at the end of the file, a
    quote that closes inside a field (`"Magic dye ... 12" ruler`, which csv reads leniently), or
    a field whose later lines read as rows of their own (holds_rows)."""
    width = len(header)
    return (
        len(fields) != width
        or (s_col < len(fields) and "\n" in fields[s_col])
        or any(field.endswith(("\n", "\r")) for field in fields)
        or not closes_cleanly("".join(lines), delimiter)
        or holds_rows(fields, width, s_col, delimiter)
    )


def holds_rows(fields: list[str], width: int, s_col: int, delimiter: str) -> bool:
    """Whether a field with line breaks holds, after its first line, a line that reads as a row:
    as many fields as the header, a SMILES-like token (no spaces) in the SMILES column. A note
    that runs over lines ('first line,\nand the second') does not; swallowed rows do."""
    for field in fields:
        for part in field.split("\n")[1:]:
            cells = fields_of_line(part, delimiter)
            if (
                len(cells) >= width > 1
                and s_col < len(cells)
                and SMILES_TOKEN.match(cells[s_col].strip())
            ):
                return True
    return False


def closes_cleanly(text: str, delimiter: str) -> bool:
    """Whether every quoted field of these lines closes right before a delimiter or a line end."""
    try:
        for _ in csv.reader(io.StringIO(text), delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return False
    return True


def read_table(path: str, smiles_column: str, id_column: str) -> Iterator[dict]:
    """CSV/TSV files with a header naming the SMILES and (optional) ID columns, both matched
    ignoring case. A quote left open (a stray `"`) that swallows the lines after it makes its own
    line a rejects row, and the swallowed lines are read one by one as records."""
    delimiter = "\t" if file_kind(path) == "tsv" else ","
    csv.field_size_limit(CSV_FIELD_MAX)
    feed = LineFeed(path)
    reader = csv.reader(feed, delimiter=delimiter)
    header = next(reader, None)
    _, bad = feed.record()
    if 1 in bad:
        yield not_utf8(path, 1)
        yield reject(path, 1, "the header line is not UTF-8 text; save the file as UTF-8 text")
        return
    if header is None:
        return
    header = [name.strip() for name in header]
    lower = [name.lower() for name in header]
    if smiles_column.lower() not in lower:
        yield reject(
            path,
            1,
            f"no column '{smiles_column}' in the header (columns: {', '.join(header)})"
            f"{separator_hint(header, delimiter)}; "
            "set molecules.smiles_column to the SMILES column's name",
        )
        return
    s_col = lower.index(smiles_column.lower())
    i_col = lower.index(id_column.lower()) if id_column.lower() in lower else None
    for name in dict.fromkeys(n for n in (smiles_column, id_column) if n):
        where = [k + 1 for k, column in enumerate(lower) if column == name.lower()]
        if len(where) > 1:
            log.warning(
                "%s: the header names column '%s' %d times (columns %s); the first is read. "
                "Rename or delete the others",
                path,
                name,
                len(where),
                ", ".join(map(str, where)),
            )
    if i_col is None and id_column:
        log.warning(
            "%s: no ID column '%s' (columns: %s); the IDs are FILE:LINE. Set molecules.id_column "
            "to the ID column's name",
            path,
            id_column,
            ", ".join(header),
        )

    def row_of(line_no: int, fields: list[str]) -> dict | None:
        if not any(f.strip() for f in fields):
            return None
        smiles = fields[s_col].strip() if s_col < len(fields) else ""
        mol_id = fields[i_col].strip() if i_col is not None and i_col < len(fields) else ""
        mol_id = mol_id or f"{path}:{line_no}"
        if not smiles:
            return reject(path, line_no, "empty SMILES field", mol_id)
        return {"file": path, "record": line_no, "id": mol_id, "smiles": smiles}

    while True:
        try:
            fields = next(reader, None)
            problem = ""
        except csv.Error as error:  # e.g. a field over csv's size limit: a quote left open
            fields, problem = [], f" ({error})"
            reader = csv.reader(feed, delimiter=delimiter)
        taken, bad = feed.record()
        yield from (not_utf8(path, line_no) for line_no in bad)
        if fields is None:
            break
        if not taken:
            continue
        rows = [(taken[0][0], fields)]
        lines = [text for _, text in taken]
        if problem or (len(taken) > 1 and swallowed(fields, header, s_col, lines, delimiter)):
            first, last = taken[0][0], taken[-1][0]
            mol_id = opening_id(taken[0][1], delimiter, i_col)
            yield reject(
                path,
                first,
                f"unbalanced quote{problem}: a quoted field opened on line {first} runs to line "
                f"{last}, swallowing the {last - first} line(s) after it; fix the quote (a quote "
                "inside a field is written twice, '\"\"'); the lines after it are read one by one",
                mol_id,
                smiles=taken[0][1].strip()[:200],
            )
            rows = [(n, fields_of_line(text, delimiter)) for n, text in taken[1:]]
        for line_no, line_fields in rows:
            if any(field.endswith(("\n", "\r")) for field in line_fields):
                text = dict(taken)[line_no].strip()
                yield reject(
                    path,
                    line_no,
                    "unbalanced quote: a quoted field opened on this line is not closed; fix "
                    "the quote",
                    smiles=text,
                )
                continue
            row = row_of(line_no, line_fields)
            if row is not None:
                yield row


def fields_of_line(line: str, delimiter: str) -> list[str]:
    """The fields of one line read alone; a quote it leaves open shows as a field ending in a line
    break, and so does a field over csv's size limit."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return [line]


def opening_id(line: str, delimiter: str, i_col: int | None) -> str:
    """The ID on the line where a quote was left open ('' if it cannot be told)."""
    fields = fields_of_line(line, delimiter)
    mol_id = fields[i_col] if i_col is not None and i_col < len(fields) else ""
    return "" if "\n" in mol_id else mol_id.strip()


def separator_hint(header: list[str], delimiter: str) -> str:
    """A hint when the header's one column holds another separator than the extension's."""
    if len(header) != 1:
        return ""
    for other, what in (("\t", "tab"), (",", "comma"), (";", "semicolon")):
        if other != delimiter and other in header[0]:
            return (
                f" (the header holds a {what} ({other!r}): a .csv file must be comma-separated, "
                "a .tsv file tab-separated; is the file's extension right? A ';'-separated "
                "export (e.g. ChEMBL's) must be saved with commas or tabs)"
            )
    return ""


def sdf_blocks(path: str) -> Iterator[tuple[int, str, list[int]]]:
    """(first line number, text, non-UTF-8 line numbers) of every SDF record; the '$$$$' lines
    separate records. A record holding several molblocks (files joined with `cat *.mol`) is split
    into them, with a warning."""
    lines: list[str] = []
    bad: list[int] = []
    start = 1
    for line_no, line in read_lines(path):
        if line is not None and line.startswith("$$$$"):
            yield from split_molblocks(path, start, lines, bad)
            lines, bad, start = [], [], line_no + 1
        elif line is None:
            bad.append(line_no)
            lines.append("\n")
        else:
            lines.append(line.rstrip("\r\n") + "\n")  # RDKit reads no CR-only line ends
    if "".join(lines).strip() or bad:
        yield from split_molblocks(path, start, lines, bad)


COUNTS_LINE = re.compile(r"^[ \d]{2}\d[ \d]{2}\d.*V[23]000\s*$")


def is_counts_line(line: str) -> bool:
    """A molblock's counts line: atom and bond counts in its first two 3-character fields, and
    V2000 or V3000 at its end (a property value such as 'converted from V2000' is not one)."""
    return COUNTS_LINE.match(line) is not None


def split_molblocks(
    path: str, start: int, lines: list[str], bad: list[int]
) -> Iterator[tuple[int, str, list[int]]]:
    """One SDF record, or the molblocks it holds when it holds several: each later molblock starts
    3 header lines before a counts line (ending in V2000/V3000) that follows an 'M  END' line."""
    cuts = [0]
    ended = False
    for i, line in enumerate(lines):
        if line.startswith("M  END"):
            ended = True
        elif (
            ended
            and i - 3 > cuts[-1]
            and is_counts_line(line)
            and not any(header.startswith(">") for header in lines[i - 3 : i])
        ):
            cuts.append(i - 3)
            ended = False
    if len(cuts) > 1:
        log.warning(
            "%s: the SDF record at line %d holds %d molecules with no '$$$$' line between them "
            "(files joined with cat?); they are read as %d records. Separate the molblocks with "
            "'$$$$' lines",
            path,
            start,
            len(cuts),
            len(cuts),
        )
    for first, end in zip(cuts, [*cuts[1:], len(lines)], strict=True):
        lo, hi = start + first, start + end
        yield lo, "".join(lines[first:end]), [n for n in bad if lo <= n < hi]


TITLE = "_Name"  # RDKit's name for an SDF record's title line (matched in any case)


def sdf_property(block: str, name: str) -> str:
    """A data item of an SDF record ('_Name' is the title line); '' when absent."""
    lines = block.splitlines()
    if name.lower() == TITLE.lower():
        return lines[0].strip() if lines else ""
    for i, line in enumerate(lines[:-1]):
        if line.startswith(">") and f"<{name.lower()}>" in line.lower():
            return lines[i + 1].strip()
    return ""


def read_sdf(path: str, id_property: str) -> Iterator[dict]:
    """SDF records as text (molblock) with their IDs; RDKit parses them in the per-chunk pipeline,
    in parallel, where an unreadable record becomes a 'parse' rejects row."""
    missing = 0
    for line_no, block, bad in sdf_blocks(path):
        mol_id = sdf_property(block, id_property)
        if not mol_id and id_property.lower() != TITLE.lower() and block.strip():
            missing += 1
            if missing == 1:
                log.warning(
                    "%s: the SDF record at line %d has no property '%s' (properties: %s); its "
                    "ID is FILE:LINE. Set molecules.sdf_id_property to the ID property's name",
                    path,
                    line_no,
                    id_property,
                    ", ".join(sdf_properties(block)) or "none",
                )
        mol_id = mol_id or f"{path}:{line_no}"
        if bad and in_data_items(block, line_no, bad):
            log.warning(
                "%s: line %d (in the data items of the SDF record at line %d) is not UTF-8 text "
                "and is left out; the structure is read",
                path,
                bad[0],
                line_no,
            )
            bad = []
        if bad:
            yield reject(
                path,
                line_no,
                f"line {bad[0]} of this SDF record is not UTF-8 text; save the file as UTF-8 text",
                mol_id,
            )
        elif not block.strip():
            yield reject(path, line_no, "empty SDF record (a '$$$$' line right after another)")
        else:
            yield {"file": path, "record": line_no, "id": mol_id, "smiles": "", "molblock": block}
    if missing > 1:
        log.warning("%s: %d SDF records have no property '%s'", path, missing, id_property)


def in_data_items(block: str, start: int, bad: list[int]) -> bool:
    """Whether every line of `bad` (line numbers; the record's text starts at line `start`) comes
    after the molblock's 'M  END': in the data items, which RDKit's structure does not need."""
    ends = [i for i, line in enumerate(block.splitlines()) if line.startswith("M  END")]
    return bool(ends) and min(bad) > start + ends[0]


def sdf_properties(block: str) -> list[str]:
    """The names of an SDF record's data items."""
    return re.findall(r"^>.*?<([^>]*)>", block, flags=re.MULTILINE)


def file_kind(path: str) -> str:
    """'sdf', 'smi', 'tsv' or 'csv': the file's last extension before any `.gz`, so that
    `lib.sdf.smi` is SMILES and `export.tsv.csv` comma-separated (the config schema admits no
    other extension; a hand run's other extension is read as CSV)."""
    name = path.lower().removesuffix(".gz")
    suffix = Path(name).suffix.lstrip(".")
    return suffix if suffix in ("sdf", "smi", "tsv") else "csv"


def _rows(path: str, settings: dict[str, Any]) -> Iterator[dict]:
    kind = file_kind(path)
    if kind == "sdf":
        return read_sdf(path, settings["sdf_id_property"])
    if kind == "smi":
        return read_smi(path, settings["smiles_column"])
    return read_table(path, settings["smiles_column"], settings["id_column"])


def read_file(path: str, settings: dict[str, Any]) -> Iterator[dict]:
    """Records and rejects rows of one input file, in file order, at most max_records of them.

    A line that is not UTF-8 and a quote left open are rejects rows of their lines; a file that
    stops being readable (not gzip, a truncated gzip) ends with one rejects row (record 0) saying
    after how many records and why; an empty file gives one too, and so does one of a header,
    comment or blank lines alone. Line breaks and tabs in IDs become spaces.
    """
    limit = settings.get("max_records") or None
    seen = 0
    try:
        for row in _rows(path, settings):
            if limit and seen >= limit:  # one more record: the file was cut short
                log.warning(
                    "%s: only its first %d records are read (molecules.max_records); the "
                    "rest are in no table",
                    path,
                    limit,
                )
                return
            row["id"] = clean_id(row["id"])
            yield row
            seen += 1
    except UnreadableFile as error:
        yield reject(path, 0, str(error))
        return
    except zlib.error as error:  # a damaged deflate stream (not an OSError)
        yield reject(
            path,
            0,
            f"unreadable file after {seen} records: a damaged gzip stream ({error}); compress "
            "the original again, or download it again",
        )
        return
    except (OSError, EOFError, csv.Error) as error:
        yield reject(path, 0, f"unreadable file after {seen} records: {error}")
        return
    if not seen:
        yield reject(path, 0, NO_RECORDS if holds_text(path) else "empty file: no molecule records")


# A file with text but no record: a header alone (an export of an empty query), comment lines
NO_RECORDS = "no molecule records: the file holds only a header line, comment or blank lines"


def holds_text(path: str) -> bool:
    """Whether a file (gunzipped for `.gz`) has any line that is not blank."""
    return any(text is None or text.strip() for _, text in read_lines(path))


def count_lines(path: str, limit: int | None) -> int:
    """Records in a file, roughly, for sizing the chunks: text lines (LF, CRLF or CR-only line
    ends), or for SDF the '$$$$' lines or the 'M  END' lines, whichever are more (molblocks
    joined with `cat` have no '$$$$' between them)."""
    sdf = file_kind(path) == "sdf"
    lines = ends = records = 0
    tail = b""  # the previous block's last bytes, for markers and CRLFs split between blocks
    try:
        with opener_of(path)(path, "rb") as handle:
            while block := handle.read(1 << 20):
                text = tail + block
                for marker, counted in ((b"\n", 1), (b"\r", 1), (b"\r\n", -1)):
                    lines += counted * (text.count(marker) - tail.count(marker))
                if sdf:
                    records += text.count(b"$$$$") - tail.count(b"$$$$")
                    ends += text.count(b"M  END") - tail.count(b"M  END")
                tail = text[-8:]
                if limit and (max(records, ends) if sdf else lines) >= limit:
                    return limit
    except (OSError, EOFError, zlib.error):
        pass  # read_file reports the problem
    return max(records, ends) if sdf else lines


def chunk_size_for(total: int, configured: int) -> int:
    """molecules.chunk_size, or when 0 (automatic) as few chunks of at most AUTO_CHUNK_MAX as the
    library needs, of equal size: each chunk job then runs a pool over all the cores it is given."""
    if configured:
        return configured
    chunks = max(1, math.ceil(total / AUTO_CHUNK_MAX))
    # a count that came out low (a file count_lines misreads) must not make a job per molecule
    return max(AUTO_CHUNK_MIN, math.ceil(total / chunks))


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
