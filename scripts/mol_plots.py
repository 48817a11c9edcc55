"""Descriptor distributions of the unique molecules with the filter thresholds drawn. Needs only the
gathered descriptors, so it runs beside the 3D optimization and the report (which draws the funnel and
the top hits). PNGs carry no software or date metadata (byte-stable).

Inputs:
    descriptors: descriptors.parquet (mol_gather)
Outputs:
    distributions: PNG: descriptor distributions
"""

import pandas as pd

from medflow.molecules import plots
from medflow.step import Context, Step, log

STEP = Step(__file__, settings=("molecules.filters",))


def main(ctx: Context) -> None:
    table = pd.read_parquet(ctx.input.descriptors)
    plots.plot_distributions(table, ctx.config["molecules"]["filters"], ctx.output.distributions)
    log.info("wrote %s", ctx.output.distributions)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
