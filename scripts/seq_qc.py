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

from medflow.sequences.io import read_fasta, resolve_matrix, write_fasta
from medflow.sequences.qc import check_unique_ids, choose_alphabet, run_qc, summarize
from medflow.step import Context, Step, log

STEP = Step(__file__, settings=("sequences.alphabet", "sequences.alignment.matrix", "sequences.qc"))


def main(ctx: Context) -> None:
    settings = ctx.config["sequences"]
    records = [record for path in ctx.input.fasta for record in read_fasta(path)]
    check_unique_ids(records)
    alphabet = choose_alphabet(records, settings["alphabet"])
    matrix = resolve_matrix(settings["alignment"]["matrix"], alphabet)
    rows = run_qc(records, alphabet, matrix, settings["qc"])
    facts = summarize(rows, alphabet, matrix)
    log.info("%d records: %s", len(records), facts)
    kept = rows[rows["status"] == "unique"]
    write_fasta(ctx.output.unique, zip(kept["id"], kept["sequence"], strict=True))
    rows.drop(columns="sequence").to_csv(ctx.output.table, sep="\t", index=False)
    rejected = rows[rows["status"] == "rejected"]
    rejected[["id", "file", "line", "reason", "detail"]].to_csv(
        ctx.output.rejects, sep="\t", index=False
    )
    Path(ctx.output.summary).write_text(json.dumps(facts, indent=2) + "\n")


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
