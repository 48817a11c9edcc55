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
from pathlib import Path

import pandas as pd

from medflow.sequences.io import read_fasta
from medflow.sequences.properties import PROPERTIES
from medflow.step import Context, Step, progress

STEP = Step(__file__)


def main(ctx: Context) -> None:
    compute = PROPERTIES[json.loads(Path(ctx.input.qc_summary).read_text())["alphabet"]]
    records = read_fasta(ctx.input.fasta)
    rows = {r.id: compute(r.seq) for r in progress(records, len(records), "properties")}
    qc = pd.read_csv(ctx.input.qc_table, sep="\t", keep_default_na=False)
    passed = qc[qc["status"] != "rejected"]
    table = pd.DataFrame(
        [
            {"id": i, **rows[rep]}
            for i, rep in zip(passed["id"], passed["representative"], strict=True)
        ]
    )
    table.sort_values("id").to_csv(ctx.output.properties, sep="\t", index=False)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
