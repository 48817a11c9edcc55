"""QC of the input FASTA files: every record is kept, collapsed into an identical one, or rejected.

See medflow.sequences.qc for the checks. Writes the unique sequences (the rows of every matrix
that follows), the QC table (one row per record), the rejects table and a summary (alphabet and
matrix of the run, counts).

Inputs:
    fasta (many): input FASTA files (plain or gzipped)
Outputs:
    unique: FASTA of the unique sequences that passed QC
    table: QC table (TSV), one row per record
    rejects: rejects table (TSV)
    summary: QC summary (JSON)
"""

import json
from pathlib import Path

from medflow.sequences.io import (
    read_fasta,
    resolve_matrix,
    write_fasta,
    write_table,
)
from medflow.sequences.qc import (
    QC_COLUMNS,
    REJECT_COLUMNS,
    check_unique_ids,
    choose_alphabet,
    run_qc,
    summarize,
)
from medflow.step import Context, Step, check_listed_once, log

STEP = Step(
    __file__,
    settings=(
        "sequences.alphabet",
        "sequences.alignment.matrix",
        "sequences.alignment.mode",
        "sequences.qc",
    ),
)


def main(ctx: Context) -> None:
    settings = ctx.config["sequences"]
    check_listed_once(ctx.input.fasta, "sequences.fasta")
    records = [record for path in ctx.input.fasta for record in read_fasta(path)]
    check_unique_ids(records)
    alphabet = choose_alphabet(records, settings["alphabet"], settings["qc"]["gaps"])
    matrix = resolve_matrix(settings["alignment"]["matrix"], alphabet)
    rows = run_qc(
        records,
        alphabet,
        matrix,
        settings["qc"],
        mode=settings["alignment"]["mode"],
        stated=settings["alphabet"] != "auto",
    )
    facts = summarize(rows, alphabet, matrix)
    log.info("%d records: %s", len(records), facts)
    write_fasta(
        ctx.output.unique, ((r["id"], r["sequence"]) for r in rows if r["status"] == "unique")
    )
    write_table(ctx.output.table, rows, QC_COLUMNS)
    rejected = [row for row in rows if row["status"] == "rejected"]
    write_table(ctx.output.rejects, rejected, REJECT_COLUMNS)
    Path(ctx.output.summary).write_text(json.dumps(facts, indent=2) + "\n")


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
