"""Run the per-molecule pipeline (parse, standardize, descriptors, screen) on one chunk.

One row per input record, in the chunk's order: identity, descriptor values, every failing reason
and (with molecules.early_exit) the checks not reached. A pool of the rule's threads shares the work.
Progress: this chunk's count in the log, and the whole library's count (molecules done of total,
rate, time left) in the log and, under Snakemake, on the console.

Inputs:
    chunk: a chunk Parquet file (mol_split)
Outputs:
    table: the processed chunk (Parquet)
"""

from pathlib import Path

import pandas as pd

from medflow.molecules import descriptors, pipeline
from medflow.molecules.progress import Library
from medflow.step import Context, InputError, Step, console, log

STEP = Step(
    __file__,
    settings=(
        "molecules.tautomer",
        "molecules.metals",
        "molecules.descriptors",
        "molecules.filters",
        "molecules.early_exit",
    ),
    threads=True,
)


def main(ctx: Context) -> None:
    settings = pipeline.settings_of(ctx.config["molecules"])
    names = [*settings["descriptors"], *settings["filters"]["ranges"]]
    unknown = descriptors.unknown_descriptor_messages(names)
    if unknown:
        raise InputError("molecules.descriptors / molecules.filters.ranges: " + "; ".join(unknown))
    chunk = pd.read_parquet(ctx.input.chunk)
    label = f"chunk {Path(ctx.input.chunk).stem}"
    library = Library(ctx.input.chunk, ctx.output.table)
    terminal = console() if ctx.log else None  # the log file holds stderr under Snakemake
    frame = pipeline.process_frame(chunk, settings, ctx.threads, label, library, terminal)
    frame.to_parquet(ctx.output.table, index=False)
    counts = frame["stage"].replace("", "hit").value_counts().to_dict()
    log.info(
        "%s: %d records with %d processes, by outcome %s", label, len(frame), ctx.threads, counts
    )


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
