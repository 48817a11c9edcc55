"""Read molecule files (.smi/.csv/.tsv/.sdf, optionally .gz) and split the records into chunks.

Every record becomes a chunk row (file, record, id, smiles) or an input-rejects row (file, record,
id, input_smiles, stage, reasons). The files are streamed: chunks are written as they fill.
molecules.chunk_size 0 (automatic) counts the records first and makes as few equal chunks of at
most 50,000 as the library needs.

Inputs:
    molecules (many): molecule files (.smi/.csv/.tsv/.sdf, optionally .gz)
Outputs:
    chunks: folder of chunk Parquet files (0001.parquet, ...)
    rejects: CSV of the records (or files) that could not be read
"""

import csv

from medflow.molecules import io
from medflow.step import Context, InputError, Step, check_listed_once, log

STEP = Step(
    __file__,
    settings=(
        "molecules.chunk_size",
        "molecules.smiles_column",
        "molecules.id_column",
        "molecules.sdf_id_property",
        "molecules.max_records",
    ),
)


def main(ctx: Context) -> None:
    """Write the chunks and the input rejects; fail if no record of any file has a SMILES."""
    settings = ctx.config["molecules"]
    inputs = ctx.input.molecules
    check_listed_once(inputs, "molecules.inputs")
    limit = settings["max_records"] or None
    total = sum(io.count_lines(path, limit) for path in inputs)
    size = io.chunk_size_for(total, settings["chunk_size"])
    writer = io.ChunkWriter(ctx.output.chunks, size)
    first_rejects: list[dict] = []
    with open(ctx.output.rejects, "w", newline="") as handle:
        rejects = csv.DictWriter(handle, fieldnames=io.REJECT_COLUMNS)
        rejects.writeheader()
        for path in inputs:
            good = bad = 0
            for row in io.read_file(path, settings):
                if "reasons" in row:
                    rejects.writerow(row)
                    bad += 1
                    if len(first_rejects) < 5:
                        first_rejects.append(row)
                else:
                    writer.add(row)
                    good += 1
            log.info("%s: %d records, %d input rejects", path, good, bad)
    writer.flush()
    if not writer.records:
        reasons = "; ".join(
            f"{r['file']} (record {r['record']}): {r['reasons']}" for r in first_rejects
        )
        raise InputError(
            f"no usable molecule in the molecule inputs {', '.join(inputs)}: {reasons}. "
            "Check molecules.inputs and the column settings (molecules.smiles_column)."
        )
    log.info("%d records in %d chunks of up to %d", writer.records, writer.chunks, size)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
