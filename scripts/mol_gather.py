"""Gather the processed chunks: merge duplicates by InChIKey (keeping every source ID and record, as
JSON lists) and write the standardized and descriptor tables, the screened unique molecules, the
failed records and the counts. Streams chunk by chunk.

Inputs:
    chunks (many): processed chunk Parquet files (mol_process)
    rejects: input rejects CSV (mol_split)
Outputs:
    standardized: standardized.csv: one row per unique molecule
    descriptors_parquet: descriptors.parquet
    descriptors_csv: descriptors.csv
    screened: screened unique molecules (Parquet)
    record_rejects: records that failed parsing, standardization or descriptors
    counts: counts per stage (JSON)
"""

import pandas as pd

from medflow.molecules import tables
from medflow.step import Context, InputError, Step, log

STEP = Step(__file__)


def main(ctx: Context) -> None:
    """Write the gathered tables; fail when no record of the library gave a usable molecule."""
    input_rejects = pd.read_csv(ctx.input.rejects, keep_default_na=False, dtype={"id": str})
    result = tables.gather(sorted(ctx.input.chunks), input_rejects, dict(ctx.output))
    counts = result["counts"]
    if result["shared_ids"]:
        log.warning("%s", result["shared_ids"])
    if not counts["unique_molecules"]:
        examples = pd.concat([input_rejects.head(5), result["failed"]]).head(5)
        reasons = "; ".join(
            f"{r.file} (record {r.record}): {r.reasons}" for r in examples.itertuples()
        )
        raise InputError(
            f"no usable molecule: all {counts['records_in']} input records failed parsing, "
            f"standardization or descriptors, e.g. {reasons}. Check the files in molecules.inputs."
        )
    log.info("gathered %d chunks: %s", len(ctx.input.chunks), counts)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
