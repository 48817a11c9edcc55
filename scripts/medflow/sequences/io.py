"""Reading and writing the branch's files: FASTA (plain or gzipped), labels tables, matrices.

Only the standard library at import time, so workflow/rules/common.smk can check inputs with these
functions before the first job (Biopython and NumPy are imported where a matrix is loaded).
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from medflow.step import InputError, first_non_utf8, not_utf8_text

PROTEIN = "ACDEFGHIKLMNPQRSTVWY"
PROTEIN_EXTRA = (
    "UO"  # selenocysteine, pyrrolysine: real residues, scored only if the matrix has them
)
PROTEIN_AMBIGUOUS = "BZXJ"
NUCLEOTIDE = "ACGT"
NUCLEOTIDE_AMBIGUOUS = "NRYSWKMBDHV"
DEFAULT_MATRIX = {"protein": "BLOSUM62", "nucleotide": "NUC.4.4"}
# gap_open/gap_extend 'auto', in medflow's convention (a gap of length L costs open + (L-1) extend):
# protein 11/1 (BLAST's existence 10, extension 1); nucleotide 16/6, BLAST's 10/6 for its reward 5,
# penalty -4 scoring (NUC.4.4 on A, C, G, T), whose statistics it publishes (medflow.sequences.stats).
DEFAULT_GAPS = {"protein": (11, 1), "nucleotide": (16, 6)}
# IUPAC complements (U is read as T before alignment).
COMPLEMENT = str.maketrans("ACGTNRYSWKMBDHV", "TGCANYRSWMKVHDB")
LABEL_COLUMNS = ("id", "group")
# open_text looks at a file's first HEAD_BYTES for UTF-16 or UTF-32 text
HEAD_BYTES = 1024


@dataclass(frozen=True)
class Record:
    """One FASTA record and where it came from (file and header line), for messages and tables."""

    id: str
    seq: str
    file: str
    line: int


def open_text(path: str | Path) -> TextIO:
    """Open a text file for reading, gzipped or plain (told apart by the magic bytes). A UTF-8
    byte-order mark (which Windows editors write) is dropped; line endings may be LF or CRLF.
    UTF-16 or UTF-32 text is refused, saying so (medflow.step.not_utf8_text)."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    packed = magic == b"\x1f\x8b"
    with (gzip.open if packed else open)(path, "rb") as handle:
        problem = not_utf8_text(handle.read(HEAD_BYTES))
    if problem:
        raise InputError(f"{path}: {problem}")
    if packed:
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


# PIR/NBRF headers: >P1; (protein), >F1; (fragment), >DL; >DC; >RL; >RC; >N1; >N3; >XX;. FASTA
# files keep such IDs too (Pfam/HomFam domains named >P1;1ggla, with plain sequence lines), so a
# record is taken for PIR only when its body is PIR's as well (see _is_pir).
PIR_HEADER = re.compile(r"^(P1|F1|DL|DC|RL|RC|N1|N3|XX);")
# Compressed formats that are not gzip (gzip is read), by their first bytes
COMPRESSED = {b"BZh": "bzip2", b"\xfd7zXZ": "xz", b"PK\x03\x04": "zip", b"(\xb5/\xfd": "zstd"}


def _is_pir(name: str, first_line: str, sequence: str) -> bool:
    """A PIR/NBRF record: a PIR header, then a description line (words, so spaces) or a body that
    ends in PIR's '*' terminator. A FASTA record whose ID merely looks like one reads as FASTA."""
    return bool(PIR_HEADER.match(name)) and (len(first_line.split()) > 1 or sequence.endswith("*"))


# Sequence formats that are not FASTA, told by their first line: (pattern, name, Biopython's
# name for SeqIO.convert, or None where SeqIO cannot read it)
OTHER_FORMATS = (
    (re.compile(r"# STOCKHOLM"), "a Stockholm alignment (Pfam, Rfam, HMMER)", "stockholm"),
    (re.compile(r"LOCUS\s"), "a GenBank flat file", "genbank"),
    (re.compile(r"ID   .*\b(Reviewed|Unreviewed);"), "a UniProt flat file", "swiss"),
    (re.compile(r"ID   "), "an EMBL flat file", "embl"),
    (re.compile(r"(CLUSTAL|MUSCLE|PROBCONS)"), "a Clustal alignment", "clustal"),
    (re.compile(r"#NEXUS", re.IGNORECASE), "a NEXUS file", "nexus"),
    (re.compile(r"\d+\s+\d+$"), "a PHYLIP alignment", "phylip"),
    (re.compile(r"@\S"), "a FASTQ file of reads", "fastq"),
    (re.compile(r"<"), "HTML or XML (a web page saved instead of the file?)", None),
)


def what_format(line: str) -> str:
    """What to do with a file whose first line is `line` and is not FASTA: the format it looks
    like and how to convert it, where it is a known one."""
    for pattern, name, biopython in OTHER_FORMATS:
        if pattern.match(line):
            if biopython is None:
                return f"This looks like {name}. Give FASTA files in sequences.fasta."
            return (
                f"This looks like {name}: convert it to FASTA, for example with Biopython: "
                f"SeqIO.convert(PATH, '{biopython}', NEW, 'fasta'), and give NEW in "
                "sequences.fasta."
            )
    return "Give FASTA files in sequences.fasta."


def _record(path: str | Path, header: tuple[str, int], chunks: list[str], first: str) -> Record:
    sequence = "".join(chunks)
    if _is_pir(header[0], first, sequence):
        raise InputError(
            f"{path}, line {header[1]}: '{header[0]}' is a PIR/NBRF header, whose next line is "
            "a description, not sequence (it would be read into the sequence); convert "
            "the file to FASTA, for example with Biopython: SeqIO.convert(PATH, 'pir', "
            "NEW, 'fasta')"
        )
    return Record(header[0], sequence, str(path), header[1])


# Invisible characters a line may start with: a byte-order mark (U+FEFF) where files saved on
# Windows were joined with cat, a zero-width space (U+200B) pasted from a web page. Python's strip()
# keeps both, so a header behind one would read as sequence.
INVISIBLE = "\ufeff\u200b"


def _records(path: str | Path, handle: Iterable[str]) -> Iterator[Record]:
    header: tuple[str, int] | None = None
    chunks: list[str] = []
    first = ""  # the record's first line after its header, as written
    for number, line in enumerate(handle, start=1):
        line = line.strip().lstrip(INVISIBLE).strip()
        if line.startswith(">"):
            if header is not None:
                yield _record(path, header, chunks, first)
            name = line[1:].split(maxsplit=1)
            if not name:
                raise InputError(
                    f"{path}, line {number}: FASTA header without an ID; write the record's ID "
                    "right after the '>' (for example '>seq1 description')"
                )
            if not name[0].isprintable():
                hidden = sorted({repr(c) for c in name[0] if not c.isprintable()})
                raise InputError(
                    f"{path}, line {number}: the ID {name[0]!r} holds control character(s) "
                    f"{' '.join(hidden)}, which every table and tree would carry; remove them "
                    "from the header (for example tr -d '\\000' < FILE > NEW for NUL bytes)"
                )
            header, chunks, first = (name[0], number), [], ""
        elif line and header is None:
            raise InputError(
                f"{path}, line {number}: not FASTA (expected a '>' header line, found "
                f"{line[:40]!r}). {what_format(line)}"
            )
        elif line:
            first = first if chunks else line
            chunks.append("".join(line.split()))  # spaces, tabs, any whitespace inside
    if header is not None:
        yield _record(path, header, chunks, first)


def _check_file(path: str | Path, what: str) -> None:
    if Path(path).is_dir():
        raise InputError(f"{what} {path} is a folder; give the path of a file inside it")
    if not Path(path).is_file():
        raise InputError(f"{what} {path} does not exist")


# What reading a broken file raises: bytes that are not UTF-8, a damaged or truncated gzip stream
UNREADABLE = (UnicodeDecodeError, gzip.BadGzipFile, EOFError, zlib.error)


def unreadable(path: str | Path, error: Exception) -> InputError:
    """The message for a FASTA file that cannot be read as text: the line of the first byte that
    is not UTF-8, or what is wrong with the file or its gzip stream."""
    with open(path, "rb") as handle:
        start = handle.read(6)
    packed = next((name for magic, name in COMPRESSED.items() if start.startswith(magic)), None)
    if packed:
        return InputError(
            f"{path}: a {packed}-compressed file, which medflow does not read; decompress it (or "
            "compress it with gzip, which is read)"
        )
    if isinstance(error, UnicodeDecodeError):
        found = first_non_utf8(path)
        if found:
            return InputError(
                f"{path}, line {found[0]}: not a readable text file: byte {found[1]!r} is not "
                "UTF-8. Give FASTA text saved as UTF-8 (a Latin-1 or Windows-1252 letter in a "
                "header is a common cause)."
            )
    return InputError(f"{path}: not a readable text or gzipped FASTA file ({error})")


def read_fasta(path: str | Path) -> list[Record]:
    """Parse a FASTA file, raising InputError (file and line) on anything that is not FASTA."""
    _check_file(path, "FASTA file")
    try:
        with open_text(path) as handle:
            records = list(_records(path, handle))
    except UNREADABLE as error:
        raise unreadable(path, error) from None
    if not records:
        raise InputError(f"{path}: the file holds no FASTA record (it is empty)")
    return records


def fasta_ids(path: str | Path) -> list[str]:
    """The record IDs of a FASTA file, read from its header lines only (fast, for start-up)."""
    _check_file(path, "FASTA file")
    try:
        with open_text(path) as handle:
            return [
                line[1:].split(maxsplit=1)[0]
                for line in (raw.lstrip(INVISIBLE) for raw in handle)
                if line.startswith(">") and line[1:].strip()
            ]
    except UNREADABLE as error:
        raise unreadable(path, error) from None


def write_fasta(path: str | Path, records: Iterable[tuple[str, str]], width: int = 80) -> None:
    """Write (id, sequence) pairs as FASTA with fixed-width lines."""
    with open(path, "w") as out:
        for name, seq in records:
            out.write(f">{name}\n")
            for start in range(0, len(seq), width):
                out.write(seq[start : start + width] + "\n")


def read_labels(path: str | Path) -> dict[str, str]:
    """The labels table (TSV with columns id and group) as {id: group}, without the IDs whose group
    cell is empty (their group is not known); InputError names the line."""
    try:
        with open_text(path) as handle:
            rows = label_rows(handle, path)
    except (*UNREADABLE, csv.Error) as error:
        raise InputError(f"labels table {path}: not a readable TSV file ({error})") from None
    except FileNotFoundError:
        raise InputError(
            f"labels table {path} does not exist (config key sequences.labels)"
        ) from None
    if not rows:
        raise InputError(
            f"labels table {path} is empty; it needs a header line 'id<TAB>group' and one line "
            "per labelled sequence (config key sequences.labels)"
        )
    header = [name.strip().lower() for name in rows[0][1]]  # 'ID', 'Group' read too
    if not set(LABEL_COLUMNS) <= set(header):
        joined = "".join(rows[0][1])
        other = next((f" (it is separated by {c!r})" for c in (",", ";") if c in joined), "")
        raise InputError(
            f"labels table {path}: the header line is {rows[0][1]!r}{other}, but it needs the "
            "tab-separated columns 'id' and 'group' (for example 'id<TAB>group'); rename the "
            "columns, save it tab-separated, or add that header line first where the file has "
            "none (config key sequences.labels)"
        )
    at_id, at_group = header.index("id"), header.index("group")
    labels: dict[str, str] = {}
    seen: dict[str, tuple[int, str]] = {}
    for number, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(at_id, at_group):
            raise InputError(
                f"labels table {path}, line {number}: {len(row)} column(s), expected "
                f"{len(header)} tab-separated columns ({'<TAB>'.join(header)})"
            )
        name, group = row[at_id].strip(), row[at_group].strip()
        if not name:
            raise InputError(
                f"labels table {path}, line {number}: the id cell is empty (group {group!r}); "
                "give the sequence's ID or delete the line"
            )
        if name in seen:
            first, earlier = seen[name]
            raise InputError(
                f"labels table {path}, line {number}: ID {name} repeats (first on line {first}, "
                f"group {earlier!r}; here group {group!r}); keep one line per ID"
            )
        seen[name] = (number, group)
        if group:  # an empty group cell: the record has no known group
            labels[name] = group
    return labels


def label_rows(handle: TextIO, path: str | Path) -> list[tuple[int, list[str]]]:
    """The rows of a labels table (tab-separated) with the line each starts on; InputError when
    a double quote opens a cell that runs over line ends (a stray quote would otherwise make
    the lines up to the next quote one ID)."""
    reader = csv.reader(handle, delimiter="\t")
    rows, line = [], 1
    for row in reader:
        if reader.line_num > line:
            raise InputError(
                f'labels table {path}, lines {line}-{reader.line_num}: a double quote (") '
                f"opens a field that runs over {reader.line_num - line + 1} lines, so they would "
                "be read as one cell; remove the stray quote (a quoted cell must close on its "
                "own line)"
            )
        rows.append((line, row))
        line = reader.line_num + 1
    return rows


def check_labels_match(labels: dict[str, str], path: str | Path, ids: Iterable[str]) -> int:
    """How many records have a label; InputError when no label ID matches any record ID (none
    when there are no record IDs: that is the FASTA files' problem, which QC names)."""
    ids = list(ids)
    matched = len(set(labels) & set(ids))
    if labels and ids and not matched:
        raise InputError(
            f"labels table {path}: none of its {len(labels)} IDs (e.g. "
            f"{', '.join(list(labels)[:3])}) matches a FASTA record ID (e.g. "
            f"{', '.join(ids[:3])}). IDs are the first word of each header line, without '>'"
            + (
                ", and case-sensitive: the table's IDs match when case is ignored, so write them "
                "as in the FASTA headers."
                if {n.casefold() for n in labels} & {n.casefold() for n in ids}
                else "."
            )
        )
    return matched


def unmatched_labels_note(labels: dict[str, str], path: str | Path, ids: Iterable[str]) -> str:
    """A warning for label IDs that name no record ('' when all do), hinting at IDs that match
    a record only when case is ignored (IDs are case-sensitive)."""
    ids = set(ids)
    unmatched = sorted(set(labels) - ids)
    if not unmatched:
        return ""
    folded = {name.casefold() for name in ids}
    by_case = [name for name in unmatched if name.casefold() in folded]
    note = (
        f"labels table {path}: {len(unmatched)} of its {len(labels)} IDs name no FASTA record "
        f"(e.g. {', '.join(unmatched[:3])}); they are left out of ARI and NMI"
    )
    if by_case:
        note += (
            f". {len(by_case)} of them match a record when case is ignored (e.g. {by_case[0]}): "
            "IDs are case-sensitive, so write them as in the FASTA headers"
        )
    return note


def read_columns(path: str | Path, *names: str) -> list[list[str]]:
    """Named columns of one of the branch's own TSV tables, as strings (no pandas: it costs a
    second of import in every job that reads a table)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [[row[name] for row in rows] for name in names]


def write_table(path: str | Path, rows: Iterable[dict], columns: Iterable[str]) -> None:
    """A TSV table with a header, the given columns of each row (values as str(); no pandas)."""
    columns = list(columns)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([row[name] for name in columns] for row in rows)


# Unmasked letters enough to call a mostly hard-masked record nucleotide: 20 letters all of ACGTN
# by chance from protein residues is well under one in a million
MASKED_EVIDENCE = 20


def detect_alphabet(seq: str) -> str:
    """'nucleotide' when >= 90% of letters are ACGTUN and all are IUPAC nucleotide codes, X (a
    hard-masked base, as RepeatMasker -x writes it) aside when it is under half the letters, or
    when at least MASKED_EVIDENCE letters are left beside it (a record mostly masked: QC rejects
    it as too ambiguous rather than as protein); 'protein' otherwise."""
    unmasked = seq.replace("X", "")
    if len(unmasked) > len(seq) / 2 or len(unmasked) >= MASKED_EVIDENCE:
        seq = unmasked
    if not seq:
        return "protein"
    core = sum(seq.count(c) for c in "ACGTUN")
    allowed = set(NUCLEOTIDE + "U" + NUCLEOTIDE_AMBIGUOUS)
    return "nucleotide" if core >= 0.9 * len(seq) and set(seq) <= allowed else "protein"


def load_matrix(name: str):
    """A substitution matrix of Bio.Align.substitution_matrices, by name (InputError if unknown)."""
    from Bio.Align import substitution_matrices

    try:
        return substitution_matrices.load(name)
    except (FileNotFoundError, ValueError):
        known = ", ".join(substitution_matrices.load())
        raise InputError(f"unknown substitution matrix {name!r}; choose one of {known}") from None


def matrix_kind(name: str) -> str:
    """'protein' for a matrix that scores the 20 standard amino acids, 'nucleotide' otherwise (the
    default matrices without loading them: common.smk asks before the first alignment job).
    InputError for a matrix of codons (SCHNEIDER) or other symbols longer than one letter:
    medflow aligns residues, one letter each."""
    known = {matrix: kind for kind, matrix in DEFAULT_MATRIX.items()}
    if name in known:
        return known[name]
    alphabet = load_matrix(name).alphabet
    if any(len(symbol) != 1 for symbol in alphabet):
        raise InputError(
            f"sequences.alignment.matrix {name!r} scores {len(alphabet)} symbols of several "
            f"letters ({', '.join(alphabet[:3])}, ...: codons), but medflow aligns residues one "
            "letter each; choose a protein or nucleotide matrix (e.g. BLOSUM62 or NUC.4.4) or "
            "'auto'"
        )
    return "protein" if set(PROTEIN) <= set(alphabet) else "nucleotide"


def gap_costs(alignment: dict, matrix: str) -> tuple[int, int]:
    """(gap_open, gap_extend) of the sequences.alignment settings, 'auto' resolved for the kind
    of the run's matrix (DEFAULT_GAPS)."""
    defaults = DEFAULT_GAPS[matrix_kind(matrix)]
    given = (alignment["gap_open"], alignment["gap_extend"])
    return tuple(d if g == "auto" else int(g) for g, d in zip(given, defaults, strict=True))


def check_scoring_settings(sequences: dict) -> None:
    """InputError, before any job, for alignment settings that would fail only in the alignment:
    an unknown or codon matrix, a matrix of the wrong kind for a fixed `sequences.alphabet`, and
    for pyopal a matrix that is not integer or gap costs with gap_open < gap_extend (for every
    kind of run 'auto' can still become)."""
    alignment, alphabet = sequences["alignment"], sequences["alphabet"]
    name = alignment["matrix"]
    if name != "auto":
        kinds = [matrix_kind(name)]
        if alphabet != "auto" and alphabet != kinds[0]:
            raise InputError(
                f"sequences.alignment.matrix {name!r} is a {kinds[0]} matrix but "
                f"sequences.alphabet is {alphabet}; choose a {alphabet} matrix or 'auto'"
            )
    else:
        kinds = [alphabet] if alphabet != "auto" else list(DEFAULT_MATRIX)
    if alignment["engine"] != "pyopal":
        return
    for kind in kinds:
        matrix = name if name != "auto" else DEFAULT_MATRIX[kind]
        gap_open, gap_extend = gap_costs(alignment, matrix)
        if matrix in DEFAULT_MATRIX.values():  # integer; not loaded, so start-up stays quick
            matrix = None
        check_pyopal_scoring(matrix, gap_open, gap_extend)


def check_pyopal_scoring(matrix: str | None, gap_open: int, gap_extend: int):
    """The matrix's scores (a NumPy array; None for matrix None: the gaps alone are checked), or
    InputError when pyopal cannot use the matrix or the gap costs."""
    if gap_open < gap_extend:
        raise InputError(
            f"pyopal needs gap_open >= gap_extend (got {gap_open} < {gap_extend}); raise "
            "sequences.alignment.gap_open or set sequences.alignment.engine: biopython"
        )
    if matrix is None:
        return None
    import numpy as np

    scores = np.asarray(load_matrix(matrix))
    if not np.array_equal(scores, np.round(scores)):
        raise InputError(
            f"pyopal needs an integer matrix and {matrix} is not; choose another "
            "sequences.alignment.matrix or set sequences.alignment.engine: biopython"
        )
    return scores


def reverse_complement(seq: str) -> str:
    """The other strand of a nucleotide sequence, read 5' to 3' (IUPAC codes complemented)."""
    return seq.translate(COMPLEMENT)[::-1]


def resolve_matrix(name: str, alphabet: str) -> str:
    """The matrix to use: 'auto' picks BLOSUM62 or NUC.4.4; a matrix must fit the alphabet."""
    if name == "auto":
        return DEFAULT_MATRIX[alphabet]
    kind = matrix_kind(name)
    if alphabet != kind:
        raise InputError(
            f"sequences.alignment.matrix {name!r} is a {kind} matrix but the input is {alphabet}; "
            f"choose a {alphabet} matrix (e.g. {DEFAULT_MATRIX[alphabet]}) or 'auto'"
        )
    return name


def matrix_array(name: str):
    """(alphabet, square score array) of a named matrix."""
    import numpy as np

    matrix = load_matrix(name)
    return "".join(matrix.alphabet), np.asarray(matrix, dtype=float)
