"""Per-sequence properties of every record that passed QC (see medflow.sequences.properties), and
the histogram of record lengths, passed and rejected (medflow.sequences.plots.plot_lengths).

Identical copies share their representative's row; the QC summary names the alphabet. The
histogram needs the QC table only, so it is drawn here, beside the clustering, rather than by
seq_cluster, whose figures are on the critical path of every run.

Inputs:
    fasta: FASTA of the unique sequences
    qc_table: QC table (maps identical copies)
    qc_summary: QC summary JSON (names the alphabet)
Outputs:
    properties: properties table (TSV)
    lengths_png: length histogram (PNG)
    lengths_svg: length histogram (SVG)
"""

import json
import math
from pathlib import Path

from medflow.sequences.io import read_columns, read_fasta, write_table
from medflow.sequences.plots import plot_lengths
from medflow.sequences.properties import COLUMNS, PROPERTIES
from medflow.step import Context, InputError, Step, progress

STEP = Step(__file__)


def main(ctx: Context) -> None:
    alphabet = json.loads(Path(ctx.input.qc_summary).read_text())["alphabet"]
    compute = PROPERTIES[alphabet]
    records = read_fasta(ctx.input.fasta)
    rows = {r.id: compute(r.seq) for r in progress(records, len(records), "properties")}
    names, status, representative, lengths = read_columns(
        ctx.input.qc_table, "id", "status", "representative", "length"
    )
    kept = [rep for state, rep in zip(status, representative, strict=True) if state != "rejected"]
    lost = sorted(set(kept) - set(rows))
    if lost:
        raise InputError(
            f"{ctx.input.qc_table}: record {lost[0]} passed QC but is not in {ctx.input.fasta}; "
            "the QC outputs come from different runs. Delete results/sequences/ and rerun."
        )
    table = [
        {"id": name, **{key: blank_nan(value) for key, value in rows[rep].items()}}
        for name, state, rep in zip(names, status, representative, strict=True)
        if state != "rejected"
    ]
    table.sort(key=lambda row: row["id"])
    write_table(ctx.output.properties, table, ("id", *COLUMNS[alphabet]))
    plot_lengths(status, list(map(int, lengths)), ctx.output.lengths_png, ctx.output.lengths_svg)


def blank_nan(value):
    """An empty cell for a figure that cannot be computed (NaN), the value otherwise."""
    return "" if isinstance(value, float) and math.isnan(value) else value


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
