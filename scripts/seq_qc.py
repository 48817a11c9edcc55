"""QC of the input FASTA files: every record is kept, collapsed into an identical one, or rejected.

Checks, in order: empty record, alphabet mismatch, invalid characters, letters the substitution
matrix cannot score, length bounds, fraction of ambiguous residues. Duplicate IDs and mixed
protein/nucleotide input (with sequences.alphabet: auto) stop the run with a message naming the
records. Identical sequences are aligned once; the QC table maps each to its representative.
"""

import argparse
import json
from collections import Counter
from pathlib import Path

import pandas as pd
from seq_io import (
    NUCLEOTIDE,
    NUCLEOTIDE_AMBIGUOUS,
    PROTEIN,
    PROTEIN_AMBIGUOUS,
    PROTEIN_EXTRA,
    Record,
    detect_alphabet,
    load_matrix,
    read_fasta,
    resolve_matrix,
    write_fasta,
)

from medflow_cli import InputError, add_common_args, log, run_step

VALID = {
    "protein": (set(PROTEIN + PROTEIN_EXTRA), set(PROTEIN_AMBIGUOUS)),
    "nucleotide": (set(NUCLEOTIDE), set(NUCLEOTIDE_AMBIGUOUS)),
}


def where(record: Record) -> str:
    return f"'{record.id}' ({record.file}, line {record.line})"


def normalize(seq: str, alphabet: str | None = None) -> str:
    """Upper case, trailing stop '*' removed, RNA U read as T for nucleotides."""
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


def choose_alphabet(records: list[Record], setting: str) -> str:
    """The run's alphabet: the config's, or the one every non-empty record is detected as."""
    if setting != "auto":
        return setting
    kinds: dict[str, Record] = {}
    for record in records:
        if record.seq:
            kinds.setdefault(detect_alphabet(normalize(record.seq)), record)
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
        return "too_short", f"length {len(seq)} < {qc['min_length']}"
    if len(seq) > qc["max_length"]:
        return "too_long", f"length {len(seq)} > {qc['max_length']}"
    fraction = sum(seq.count(c) for c in ambiguous) / len(seq)
    if fraction > qc["max_ambiguous_fraction"]:
        return "too_ambiguous", f"ambiguous fraction {fraction:.3f}"
    return "", ""


def run_qc(records: list[Record], alphabet: str, matrix: str, qc: dict) -> pd.DataFrame:
    """One QC row per record: status unique, duplicate (of representative) or rejected."""
    letters = set(load_matrix(matrix).alphabet)
    ambiguous = VALID[alphabet][1]
    first_of: dict[str, str] = {}
    rows = []
    for record in records:
        seq = normalize(record.seq, alphabet)
        reason, detail = check_record(seq, alphabet, letters, qc)
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
    return pd.DataFrame(rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fasta", nargs="+", help="input FASTA files (plain or gzipped)")
    parser.add_argument("--unique", required=True, help="FASTA of the unique passing sequences")
    parser.add_argument("--table", required=True, help="QC table (TSV), one row per record")
    parser.add_argument("--rejects", required=True, help="rejects table (TSV)")
    parser.add_argument("--summary", required=True, help="QC summary (JSON)")
    parser.add_argument("--alphabet", default="auto", choices=["auto", "protein", "nucleotide"])
    parser.add_argument("--matrix", default="auto", help="substitution matrix name or 'auto'")
    parser.add_argument("--min-length", type=int, default=20)
    parser.add_argument("--max-length", type=int, default=10000)
    parser.add_argument("--max-ambiguous-fraction", type=float, default=0.1)
    add_common_args(parser, threads=False)
    return parser


def from_snakemake(smk) -> dict:
    qc = smk.params.qc
    return {
        "fasta": list(smk.input.fasta),
        **{key: smk.output[key] for key in ("unique", "table", "rejects", "summary")},
        "alphabet": smk.params.alphabet,
        "matrix": smk.params.matrix,
        "min_length": qc["min_length"],
        "max_length": qc["max_length"],
        "max_ambiguous_fraction": qc["max_ambiguous_fraction"],
    }


def main(fasta, unique, table, rejects, summary, alphabet, matrix, **qc) -> None:
    """Read, check and collapse the records; write the QC outputs."""
    records = [record for path in fasta for record in read_fasta(path)]
    check_unique_ids(records)
    alphabet = choose_alphabet(records, alphabet)
    matrix = resolve_matrix(matrix, alphabet)
    rows = run_qc(records, alphabet, matrix, qc)
    counts = Counter(rows["status"])
    reasons = dict(sorted(Counter(rows.loc[rows["status"] == "rejected", "reason"]).items()))
    assert sum(counts.values()) == len(records), "QC lost a record"
    log.info("%d records: %s; rejected by reason: %s", len(records), dict(counts), reasons)
    if counts["unique"] < 2:
        raise InputError(
            f"fewer than two distinct sequences left after QC ({counts['unique']} of "
            f"{len(records)} records; rejected by reason: {reasons or 'none'}; "
            f"{counts['duplicate']} identical copies). Relax sequences.qc or give more sequences."
        )
    kept = rows[rows["status"] == "unique"]
    write_fasta(unique, list(zip(kept["id"], kept["sequence"], strict=True)))
    rows.drop(columns="sequence").to_csv(table, sep="\t", index=False)
    rejected = rows[rows["status"] == "rejected"]
    rejected[["id", "file", "line", "reason", "detail"]].to_csv(rejects, sep="\t", index=False)
    facts = {
        "alphabet": alphabet,
        "matrix": matrix,
        "records": len(records),
        "unique": counts["unique"],
        "duplicate": counts["duplicate"],
        "rejected": counts["rejected"],
        "rejected_by_reason": reasons,
    }
    Path(summary).write_text(json.dumps(facts, indent=2) + "\n")


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
