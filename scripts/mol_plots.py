"""Molecule plots: descriptor distributions with the filter thresholds drawn, the filter funnel,
and a grid image of the top-ranked hits. PNGs carry no software or date metadata (byte-stable).

Inputs:
    descriptors: descriptors.parquet (mol_gather)
    summary: summary.tsv (mol_report)
    hits: hits.csv (mol_report)
Outputs:
    distributions: PNG: descriptor distributions
    funnel: PNG: screening funnel
    grid: PNG: top hits
"""

import pandas as pd

from medflow.molecules import plots
from medflow.step import Context, Step, log

STEP = Step(__file__, settings=("molecules.filters", "molecules.grid_size"))


def main(ctx: Context) -> None:
    settings = ctx.config["molecules"]
    plots.plot_distributions(
        pd.read_parquet(ctx.input.descriptors), settings["filters"], ctx.output.distributions
    )
    plots.plot_funnel(pd.read_csv(ctx.input.summary, sep="\t"), ctx.output.funnel)
    hits = pd.read_csv(
        ctx.input.hits, keep_default_na=False, dtype={"id": str}, nrows=settings["grid_size"]
    )
    plots.draw_hits(hits, settings["grid_size"], ctx.output.grid)
    log.info("wrote %s", ", ".join(ctx.output.values()))


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
