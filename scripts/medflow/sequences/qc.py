"""QC decisions: every record is kept, collapsed into an identical one, or rejected with a reason.

Alignment gaps ('-', '.': an aligned FASTA) are removed first by default (sequences.qc.gaps), and
the QC table's detail says how many. Checks, in order: empty record, alphabet mismatch, invalid
characters, letters the substitution matrix cannot score, length bounds, fraction of ambiguous
residues. Selenocysteine (U), pyrrolysine (O) and J are scored as X where the matrix lacks them
and has X, as BLAST does. Duplicate IDs and mixed protein/nucleotide input (with
sequences.alphabet: auto: files of different kinds, or a quarter of the records of the other kind)
stop the run with a message naming the records; a stray record of the other kind is a reject.
Identical sequences are aligned once; the QC table maps each to its representative.
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


PROTEIN_TEXT = set().union(*VALID["protein"])


def where(record: Record) -> str:
    return f"'{record.id}' ({record.file}, line {record.line})"


GAPS = "-."
WITHOUT_GAPS = str.maketrans("", "", GAPS)


def gap_count(seq: str) -> int:
    """Alignment gap characters in a record ('-' and '.')."""
    return sum(seq.count(c) for c in GAPS)


def normalize(seq: str, alphabet: str | None = None, gaps: str = "strip") -> str:
    """Upper case, alignment gaps removed (gaps: strip), trailing stop '*' removed; for
    nucleotides RNA U read as T and a hard-masked base X as N (unknown base)."""
    if gaps == "strip":
        seq = seq.translate(WITHOUT_GAPS)
    seq = seq.upper().rstrip("*")
    return seq.translate(NUCLEOTIDE_READINGS) if alphabet == "nucleotide" else seq


NUCLEOTIDE_READINGS = str.maketrans("UX", "TN")


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


# With sequences.alphabet: auto, records of the other kind are rejects while they stay below this
# share of the records (and no file is mostly of the other kind); more is a mix of inputs.
MIXED_SHARE = 0.25


def choose_alphabet(records: list[Record], setting: str, gaps: str = "strip") -> str:
    """The run's alphabet: the config's, or the kind most residues look like (detect_alphabet,
    gaps aside). Files of different kinds, or records of the other kind making up MIXED_SHARE of
    the non-empty records, stop the run: that is a mix of inputs, not a stray record (which QC
    then rejects as alphabet_mismatch)."""
    if setting != "auto":
        return setting
    first: dict[str, Record] = {}
    count: Counter = Counter()
    residues: dict[str, Counter] = {}
    for record in records:
        seq = normalize(record.seq).translate(WITHOUT_GAPS)
        if seq:
            kind = detect_alphabet(seq)
            first.setdefault(kind, record)
            count[kind] += 1
            residues.setdefault(record.file, Counter())[kind] += len(seq)
    if not count:
        return "protein"
    of_file = {path: kinds.most_common(1)[0][0] for path, kinds in residues.items()}
    alphabet = Counter(
        {kind: sum(r[kind] for r in residues.values()) for kind in count}
    ).most_common(1)[0][0]
    other = "nucleotide" if alphabet == "protein" else "protein"
    if len(set(of_file.values())) > 1:
        files = {kind: path for path, kind in of_file.items()}
        raise InputError(
            f"mixed protein and nucleotide input: {files['protein']} is mostly protein, "
            f"{files['nucleotide']} mostly nucleotide (e.g. {where(first['protein'])} and "
            f"{where(first['nucleotide'])}). Give one kind per run, or set sequences.alphabet "
            "to reject the records of the other kind."
        )
    if count[other] >= MIXED_SHARE * sum(count.values()):
        raise InputError(
            f"mixed protein and nucleotide input: {count['protein']} records look like protein "
            f"(e.g. {where(first['protein'])}), {count['nucleotide']} like nucleotide (e.g. "
            f"{where(first['nucleotide'])}). Give one kind per run, or set sequences.alphabet "
            "to reject the records of the other kind."
        )
    return alphabet


def scored_as_x(letters: set[str]) -> set[str]:
    """The letters QC lets through as X for a matrix with these letters: selenocysteine U,
    pyrrolysine O and J (I or L) where the matrix lacks them and has X, as BLAST does."""
    return set("UOJ") - letters if "X" in letters else set()


def check_record(
    seq: str,
    alphabet: str,
    matrix_letters: set[str],
    qc: dict,
    self_scoring: set[str] | None = None,
    stated: bool = False,
) -> tuple[str, str]:
    """(reason, detail) for a record that fails QC, ('', '') for one that passes. self_scoring:
    the letters the matrix scores above 0 against themselves (X and letters scored as X count as
    X); a record with none of them has a local self-score of 0 and no distance to anything.
    stated: the run's alphabet was set in the config (not detected), so a protein record made of
    letters DNA also uses (poly-Ala, a GC-rich peptide) is taken as the protein it is said to be."""
    if not seq:
        return "empty_sequence", "zero-length record"
    standard, ambiguous = VALID[alphabet]
    invalid = sorted(set(seq) - standard - ambiguous)
    # A protein run rejects what looks like DNA; a nucleotide run what holds letters only
    # proteins have. Other characters (digits, symbols, gaps) are invalid in either.
    looks = detect_alphabet(seq.translate(WITHOUT_GAPS))
    protein_letters = bool(invalid) and set(invalid) <= PROTEIN_TEXT
    if protein_letters and alphabet == "nucleotide":
        letters = "".join(invalid)
        return (
            "alphabet_mismatch",
            f"holds {letters}, letters only proteins have; run is nucleotide",
        )
    if looks != alphabet and alphabet == "protein" and not stated:
        return "alphabet_mismatch", (
            "looks like nucleotide, run is protein (detected); a protein of such letters only "
            "(poly-A, G, C, T) is kept with sequences.alphabet: protein"
        )
    if invalid:
        return "invalid_characters", "characters " + " ".join(map(shown, invalid))
    as_x = scored_as_x(matrix_letters)
    unscored = sorted(set(seq) - matrix_letters - as_x)
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
    if self_scoring is not None and not {"X" if c in as_x else c for c in set(seq)} & self_scoring:
        return "no_self_score", (
            "no residue scores above 0 against itself under the matrix (all X or similar): the "
            "record cannot align to anything"
        )
    return "", ""


def shown(character: str) -> str:
    """A character as a message shows it: printable ones as they are, others by their escape."""
    return character if character.isprintable() and not character.isspace() else repr(character)


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


def run_qc(
    records: list[Record],
    alphabet: str,
    matrix: str,
    qc: dict,
    mode: str = "local",
    stated: bool = False,
) -> list[dict]:
    """One QC row per record: status unique, duplicate (of representative) or rejected. In global
    mode a record must score above 0 against itself as a whole (its diagonal summed), or it has
    no distance to anything; stated: the alphabet was set in the config (check_record)."""
    scores = load_matrix(matrix)
    letters = set(scores.alphabet)
    self_scoring = {c for c in letters if scores[c, c] > 0}
    as_x = str.maketrans({letter: "X" for letter in scored_as_x(letters)})
    ambiguous = VALID[alphabet][1]
    first_of: dict[str, str] = {}
    rows = []
    for record in records:
        seq = normalize(record.seq, alphabet, qc["gaps"])
        reason, detail = check_record(seq, alphabet, letters, qc, self_scoring, stated)
        if not reason and mode == "global":
            total = sum(float(scores[c, c]) for c in seq.translate(as_x))
            if total <= 0:
                reason, detail = (
                    "no_self_score",
                    (
                        f"its global self-score is {total:g} (ambiguous residues such as X score "
                        "below 0 against themselves): the record cannot align to anything; lower "
                        "sequences.qc.max_ambiguous_fraction to reject such records, or use local mode"
                    ),
                )
        removed = gap_count(record.seq) if qc["gaps"] == "strip" else 0
        notes = [f"{removed} alignment gap characters (- .) removed"] if removed else []
        status, representative, aligned = "rejected", "", seq
        if not reason:
            representative = first_of.setdefault(seq, record.id)
            status = "unique" if representative == record.id else "duplicate"
            aligned = seq.translate(as_x)
            replaced = Counter(a for a, b in zip(seq, aligned, strict=True) if a != b)
            notes += [f"{n} {letter} scored as X" for letter, n in sorted(replaced.items())]
            detail = "; ".join(notes)
        else:  # say what QC removed before judging (an aligned record of gaps only is empty)
            detail = "; ".join([detail, *notes])
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
                "sequence": aligned,
            }
        )
    return rows


def summarize(rows: list[dict], alphabet: str, matrix: str) -> dict:
    """The QC summary; InputError when fewer than two distinct sequences are left to cluster."""
    counts = Counter(row["status"] for row in rows)
    reasons = dict(sorted(Counter(r["reason"] for r in rows if r["status"] == "rejected").items()))
    if counts["unique"] < 2:
        examples = reject_examples(rows)
        raise InputError(
            f"fewer than two distinct sequences left after QC ({counts['unique']} of "
            f"{len(rows)} records; rejected by reason: {reasons or 'none'}; "
            f"{counts['duplicate']} identical copies)"
            + (
                f"; for example {examples}. Fix the records or relax sequences.qc, or give "
                "more sequences."
                if examples
                else ". Give at least two different sequences."
            )
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


def reject_examples(rows: list[dict]) -> str:
    """The first rejected record of each reason, with its detail, for a message (the rejects
    table is not written when the run stops)."""
    first: dict[str, dict] = {}
    for row in rows:
        if row["status"] == "rejected":
            first.setdefault(row["reason"], row)
    return "; ".join(
        f"{reason}: '{row['id']}' ({row['file']}, line {row['line']}): {row['detail']}"
        for reason, row in sorted(first.items())
    )
