"""Final molecule tables: ranked hits, rejects with every reason, and a summary of counts per stage.

The counts must add up: records in = hits + rejects + duplicates merged into another record.
"""

import json
from pathlib import Path

import pandas as pd

from medflow.molecules import screen, tables
from medflow.step import Context, Port, Step, log

STEP = Step(
    __doc__,
    inputs=(
        Port("screened", "screened unique molecules (mol_gather)"),
        Port("record_rejects", "failed records (mol_gather)"),
        Port("optimized", "3D results per hit (mol_optimize)"),
        Port("counts", "counts per stage (mol_gather)"),
    ),
    outputs=(
        Port("hits", "hits.csv: ranked hits"),
        Port("rejects", "rejects.csv: every record that is not a hit, with all reasons"),
        Port("summary", "summary.tsv: counts per stage"),
    ),
    settings=("molecules.filters",),
)


def main(ctx: Context) -> None:
    result = tables.build_tables(
        pd.read_parquet(ctx.input.screened),
        pd.read_csv(ctx.input.record_rejects, keep_default_na=False, dtype={"id": str}),
        pd.read_csv(ctx.input.optimized, keep_default_na=False, dtype={"id": str}),
        json.loads(Path(ctx.input.counts).read_text()),
        screen.filter_order(ctx.config["molecules"]["filters"]),
    )
    result["hits"].to_csv(ctx.output.hits, index=False)
    result["rejects"].to_csv(ctx.output.rejects, index=False)
    result["summary"].to_csv(ctx.output.summary, sep="\t", index=False)
    log.info("%d hits, %d rejects", len(result["hits"]), len(result["rejects"]))


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
