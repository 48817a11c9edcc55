"""Score-only pairwise alignment of one block of the all-vs-all matrix, with pyopal or Biopython.

The unique sequences are cut into blocks of `block_size` (medflow.sequences.blocks); block
(row, col) with row <= col holds the scores of row-block sequences against col-block sequences
(diagonal blocks compute the upper triangle and mirror it).

Inputs:
    fasta: FASTA of the unique sequences (QC output)
    qc_summary: QC summary JSON (names the matrix)
Outputs:
    block: block scores (.npy)
"""

import json
from pathlib import Path

import numpy as np

from medflow.sequences.align import Scoring, score_block
from medflow.sequences.blocks import block_bounds
from medflow.sequences.io import read_fasta
from medflow.step import Context, InputError, Step, log

STEP = Step(__file__, settings=("sequences.alignment",), wildcards=("row", "col"), threads=True)


def main(ctx: Context) -> None:
    settings = ctx.config["sequences"]["alignment"]
    seqs = [record.seq for record in read_fasta(ctx.input.fasta)]
    matrix = json.loads(Path(ctx.input.qc_summary).read_text())["matrix"]
    row, col, size = int(ctx.wildcards.row), int(ctx.wildcards.col), settings["block_size"]
    if row > col:
        raise InputError(
            f"block {row}_{col} lies below the diagonal: the score matrix is symmetric, so only "
            "blocks with row <= col are aligned; give --row and --col the other way round"
        )
    r0, r1 = block_bounds(len(seqs), size, row)
    c0, c1 = block_bounds(len(seqs), size, col)
    scoring = Scoring.from_settings(settings, matrix)
    log.info("block %d_%d: %d x %d sequences, %d threads", row, col, r1 - r0, c1 - c0, ctx.threads)
    block = score_block(seqs[r0:r1], seqs[c0:c1], row == col, scoring, ctx.threads)
    np.save(ctx.output.block, block)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
