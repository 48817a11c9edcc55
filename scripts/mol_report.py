"""Final molecule tables: ranked hits, rejects with every reason, and a summary of counts per stage;
with them the plots drawn from these tables (the filter funnel and the top hits), in the same job.

The counts must add up: records in = hits + rejects + duplicates merged into another record.

Inputs:
    screened: screened unique molecules (mol_gather)
    record_rejects: failed records (mol_gather)
    optimized: 3D results per hit (mol_optimize)
    counts: counts per stage (mol_gather)
Outputs:
    hits: hits.csv: ranked hits
    rejects: rejects.csv: every record that is not a hit, with all reasons
    summary: summary.tsv: counts per stage
    funnel: PNG: screening funnel
    grid: PNG: top hits
"""

import json
from pathlib import Path

import pandas as pd

from medflow.molecules import plots, screen, tables
from medflow.step import Context, Step, log

STEP = Step(__file__, settings=("molecules.filters", "molecules.grid_size"))


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
    # The plots read the tables as written, as any later reader would.
    size = ctx.config["molecules"]["grid_size"]
    plots.plot_funnel(pd.read_csv(ctx.output.summary, sep="\t"), ctx.output.funnel)
    top = pd.read_csv(ctx.output.hits, keep_default_na=False, dtype={"id": str}, nrows=size)
    plots.draw_hits(top, size, ctx.output.grid)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
