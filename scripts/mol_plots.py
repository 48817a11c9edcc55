"""Molecule plots: descriptor distributions with the filter thresholds drawn, the filter funnel,
and a grid image of the top-ranked hits. PNGs carry no software or date metadata (byte-stable)."""

import pandas as pd

from medflow.molecules import plots
from medflow.step import Context, Port, Step, log

STEP = Step(
    __doc__,
    inputs=(
        Port("descriptors", "descriptors.parquet (mol_gather)"),
        Port("summary", "summary.tsv (mol_report)"),
        Port("hits", "hits.csv (mol_report)"),
    ),
    outputs=(
        Port("distributions", "PNG: descriptor distributions"),
        Port("funnel", "PNG: screening funnel"),
        Port("grid", "PNG: top hits"),
    ),
    settings=("molecules.filters", "molecules.grid_size"),
)


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
