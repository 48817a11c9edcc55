"""Per-sequence properties of every record that passed QC (see medflow.sequences.properties).

Identical copies share their representative's row; the QC summary names the alphabet.

Inputs:
    fasta: FASTA of the unique sequences
    qc_table: QC table (maps identical copies)
    qc_summary: QC summary JSON (names the alphabet)
Outputs:
    properties: properties table (TSV)
"""

import json
import math
from pathlib import Path

from medflow.sequences.io import read_columns, read_fasta, write_table
from medflow.sequences.properties import COLUMNS, PROPERTIES
from medflow.step import Context, Step, progress

STEP = Step(__file__)


def main(ctx: Context) -> None:
    alphabet = json.loads(Path(ctx.input.qc_summary).read_text())["alphabet"]
    compute = PROPERTIES[alphabet]
    records = read_fasta(ctx.input.fasta)
    rows = {r.id: compute(r.seq) for r in progress(records, len(records), "properties")}
    names, status, representative = read_columns(
        ctx.input.qc_table, "id", "status", "representative"
    )
    table = [
        {"id": name, **{key: blank_nan(value) for key, value in rows[rep].items()}}
        for name, state, rep in zip(names, status, representative, strict=True)
        if state != "rejected"
    ]
    table.sort(key=lambda row: row["id"])
    write_table(ctx.output.properties, table, ("id", *COLUMNS[alphabet]))


def blank_nan(value):
    """An empty cell for a figure that cannot be computed (NaN), the value otherwise."""
    return "" if isinstance(value, float) and math.isnan(value) else value


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
