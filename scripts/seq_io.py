"""Shared helpers of the sequence branch: FASTA reading with line numbers, matrices, alphabets."""

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from Bio.Align import substitution_matrices

from medflow_cli import InputError

PROTEIN = "ACDEFGHIKLMNPQRSTVWY"
PROTEIN_EXTRA = (
    "UO"  # selenocysteine, pyrrolysine: real residues, scored only if the matrix has them
)
PROTEIN_AMBIGUOUS = "BZXJ"
NUCLEOTIDE = "ACGT"
NUCLEOTIDE_AMBIGUOUS = "NRYSWKMBDHV"
DEFAULT_MATRIX = {"protein": "BLOSUM62", "nucleotide": "NUC.4.4"}


@dataclass(frozen=True)
class Record:
    """One FASTA record and where it came from (file and header line), for messages and tables."""

    id: str
    seq: str
    file: str
    line: int


def open_text(path: str | Path):
    """Open a FASTA file for reading, gzipped or plain (told apart by the magic bytes)."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_fasta(path: str | Path) -> list[Record]:
    """Parse a FASTA file, raising InputError (file and line) on anything that is not FASTA."""
    records: list[Record] = []
    header: tuple[str, int] | None = None
    chunks: list[str] = []
    try:
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                line = line.strip()
                if line.startswith(">"):
                    if header is not None:
                        records.append(Record(header[0], "".join(chunks), str(path), header[1]))
                    name = line[1:].split(maxsplit=1)
                    if not name:
                        raise InputError(f"{path}, line {number}: FASTA header without an ID")
                    header, chunks = (name[0], number), []
                elif line and header is None:
                    raise InputError(
                        f"{path}, line {number}: not FASTA (expected a '>' header line, found "
                        f"{line[:40]!r}). Give FASTA files in sequences.fasta."
                    )
                elif line:
                    chunks.append(line.replace(" ", ""))
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as error:
        raise InputError(f"{path}: not a readable text or gzipped FASTA file ({error})") from None
    if header is not None:
        records.append(Record(header[0], "".join(chunks), str(path), header[1]))
    if not records:
        raise InputError(f"{path}: the file holds no FASTA record (it is empty)")
    return records


def write_fasta(path: str | Path, records: list[tuple[str, str]], width: int = 80) -> None:
    """Write (id, sequence) pairs as FASTA with fixed-width lines."""
    with open(path, "w") as out:
        for name, seq in records:
            out.write(f">{name}\n")
            for start in range(0, len(seq), width):
                out.write(seq[start : start + width] + "\n")


def detect_alphabet(seq: str) -> str:
    """'nucleotide' when >= 90% of letters are ACGTUN and all are IUPAC nucleotide codes."""
    if not seq:
        return "protein"
    core = sum(seq.count(c) for c in "ACGTUN")
    allowed = set(NUCLEOTIDE + "U" + NUCLEOTIDE_AMBIGUOUS)
    return "nucleotide" if core >= 0.9 * len(seq) and set(seq) <= allowed else "protein"


def load_matrix(name: str):
    """A substitution matrix of Bio.Align.substitution_matrices, by name (InputError if unknown)."""
    try:
        return substitution_matrices.load(name)
    except (FileNotFoundError, ValueError):
        known = ", ".join(substitution_matrices.load())
        raise InputError(f"unknown substitution matrix {name!r}; choose one of {known}") from None


def resolve_matrix(name: str, alphabet: str) -> str:
    """The matrix to use: 'auto' picks BLOSUM62 or NUC.4.4; a matrix must fit the alphabet."""
    if name == "auto":
        return DEFAULT_MATRIX[alphabet]
    letters = set(load_matrix(name).alphabet)
    fits_protein = set(PROTEIN) <= letters
    if (alphabet == "protein") != fits_protein:
        kind = "protein" if fits_protein else "nucleotide"
        raise InputError(
            f"sequences.alignment.matrix {name!r} is a {kind} matrix but the input is {alphabet}; "
            f"choose a {alphabet} matrix (e.g. {DEFAULT_MATRIX[alphabet]}) or 'auto'"
        )
    return name


def matrix_array(name: str) -> tuple[str, np.ndarray]:
    """(alphabet, square score array) of a named matrix."""
    matrix = load_matrix(name)
    return "".join(matrix.alphabet), np.asarray(matrix, dtype=float)
