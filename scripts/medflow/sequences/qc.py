"""QC decisions: every record is kept, collapsed into an identical one, or rejected with a reason.

Alignment gaps ('-', '.': an aligned FASTA) are removed first by default (sequences.qc.gaps), and
the QC table's detail says how many. Checks, in order: empty record, alphabet mismatch, invalid
characters, letters the substitution matrix cannot score, length bounds, fraction of ambiguous
residues. Duplicate IDs and mixed protein/nucleotide input (with sequences.alphabet: auto) stop the
run with a message naming the records. Identical sequences are aligned once; the QC table maps each
to its representative.
"""

from __future__ import annotations

from collections import Counter

from medflow.sequences.io import (
    NUCLEOTIDE,
    NUCLEOTIDE_AMBIGUOUS,
    PROTEIN,
    PROTEIN_AMBIGUOUS,
    PROTEIN_EXTRA,
    Record,
    detect_alphabet,
    load_matrix,
)
from medflow.step import InputError

VALID = {
    "protein": (set(PROTEIN + PROTEIN_EXTRA), set(PROTEIN_AMBIGUOUS)),
    "nucleotide": (set(NUCLEOTIDE), set(NUCLEOTIDE_AMBIGUOUS)),
}


def where(record: Record) -> str:
    return f"'{record.id}' ({record.file}, line {record.line})"


GAPS = "-."
WITHOUT_GAPS = str.maketrans("", "", GAPS)


def gap_count(seq: str) -> int:
    """Alignment gap characters in a record ('-' and '.')."""
    return sum(seq.count(c) for c in GAPS)


def normalize(seq: str, alphabet: str | None = None, gaps: str = "strip") -> str:
    """Upper case, alignment gaps removed (gaps: strip), trailing stop '*' removed, RNA U read
    as T for nucleotides."""
    if gaps == "strip":
        seq = seq.translate(WITHOUT_GAPS)
    seq = seq.upper().rstrip("*")
    return seq.replace("U", "T") if alphabet == "nucleotide" else seq


def check_unique_ids(records: list[Record]) -> None:
    """Stop on the first duplicate ID, naming both records."""
    seen: dict[str, Record] = {}
    for record in records:
        if record.id in seen:
            raise InputError(
                f"duplicate sequence ID: {where(seen[record.id])} and {where(record)}. "
                "IDs must be unique across all files in sequences.fasta; rename one of them."
            )
        seen[record.id] = record


def choose_alphabet(records: list[Record], setting: str, gaps: str = "strip") -> str:
    """The run's alphabet: the config's, or the one every non-empty record is detected as."""
    if setting != "auto":
        return setting
    kinds: dict[str, Record] = {}
    for record in records:
        seq = normalize(record.seq, gaps=gaps)
        if seq:
            kinds.setdefault(detect_alphabet(seq), record)
    if len(kinds) > 1:
        raise InputError(
            f"mixed protein and nucleotide input: {where(kinds['protein'])} looks like protein, "
            f"{where(kinds['nucleotide'])} like nucleotide. Give one kind per run, or set "
            "sequences.alphabet to reject the records of the other kind."
        )
    return next(iter(kinds), "protein")


def check_record(seq: str, alphabet: str, matrix_letters: set[str], qc: dict) -> tuple[str, str]:
    """(reason, detail) for a record that fails QC, ('', '') for one that passes."""
    if not seq:
        return "empty_sequence", "zero-length record"
    if detect_alphabet(seq) != alphabet:
        return "alphabet_mismatch", f"looks like {detect_alphabet(seq)}, run is {alphabet}"
    standard, ambiguous = VALID[alphabet]
    invalid = sorted(set(seq) - standard - ambiguous)
    if invalid:
        return "invalid_characters", "characters " + "".join(invalid)
    unscored = sorted(set(seq) - matrix_letters)
    if unscored:
        return "not_in_matrix", "the substitution matrix lacks " + "".join(unscored)
    if len(seq) < qc["min_length"]:
        return "too_short", f"length {len(seq)} < sequences.qc.min_length {qc['min_length']}"
    if len(seq) > qc["max_length"]:
        return "too_long", (
            f"length {len(seq)} > sequences.qc.max_length {qc['max_length']}; raise it to keep "
            "the record (alignment time grows with the product of the lengths)"
        )
    fraction = sum(seq.count(c) for c in ambiguous) / len(seq)
    if fraction > qc["max_ambiguous_fraction"]:
        return "too_ambiguous", f"ambiguous fraction {fraction:.3f}"
    return "", ""


# The QC table's columns, in order (each row of run_qc also holds the normalized "sequence").
QC_COLUMNS = (
    "id",
    "file",
    "line",
    "length",
    "ambiguous_fraction",
    "detected_alphabet",
    "status",
    "representative",
    "reason",
    "detail",
)
REJECT_COLUMNS = ("id", "file", "line", "reason", "detail")


def run_qc(records: list[Record], alphabet: str, matrix: str, qc: dict) -> list[dict]:
    """One QC row per record: status unique, duplicate (of representative) or rejected."""
    letters = set(load_matrix(matrix).alphabet)
    ambiguous = VALID[alphabet][1]
    first_of: dict[str, str] = {}
    rows = []
    for record in records:
        seq = normalize(record.seq, alphabet, qc["gaps"])
        reason, detail = check_record(seq, alphabet, letters, qc)
        removed = gap_count(record.seq) if qc["gaps"] == "strip" else 0
        if removed and not reason:
            detail = f"{removed} alignment gap characters (- .) removed"
        status, representative = "rejected", ""
        if not reason:
            representative = first_of.setdefault(seq, record.id)
            status = "unique" if representative == record.id else "duplicate"
        n_ambiguous = sum(seq.count(c) for c in ambiguous)
        rows.append(
            {
                "id": record.id,
                "file": record.file,
                "line": record.line,
                "length": len(seq),
                "ambiguous_fraction": round(n_ambiguous / len(seq), 4) if seq else 0.0,
                "detected_alphabet": detect_alphabet(seq) if seq else "",
                "status": status,
                "representative": representative,
                "reason": reason,
                "detail": detail,
                "sequence": seq,
            }
        )
    return rows


def summarize(rows: list[dict], alphabet: str, matrix: str) -> dict:
    """The QC summary; InputError when fewer than two distinct sequences are left to cluster."""
    counts = Counter(row["status"] for row in rows)
    reasons = dict(sorted(Counter(r["reason"] for r in rows if r["status"] == "rejected").items()))
    if counts["unique"] < 2:
        raise InputError(
            f"fewer than two distinct sequences left after QC ({counts['unique']} of "
            f"{len(rows)} records; rejected by reason: {reasons or 'none'}; "
            f"{counts['duplicate']} identical copies). Relax sequences.qc or give more sequences."
        )
    return {
        "alphabet": alphabet,
        "matrix": matrix,
        "records": len(rows),
        "unique": counts["unique"],
        "duplicate": counts["duplicate"],
        "rejected": counts["rejected"],
        "rejected_by_reason": reasons,
    }
