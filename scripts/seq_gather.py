"""Gather the alignment blocks into the full symmetric score matrix, checking every pair is there.

The blocks arrive in medflow.sequences.blocks.block_pairs() order, the order the rule lists them.

Inputs:
    blocks (many): block .npy files, in block_pairs order
    fasta: FASTA of the unique sequences
Outputs:
    scores: score matrix (.npy)
"""

import numpy as np

from medflow.sequences.align import gather
from medflow.sequences.io import read_fasta
from medflow.step import Context, Step

STEP = Step(__file__, settings=("sequences.alignment.block_size",))


def main(ctx: Context) -> None:
    n = len(read_fasta(ctx.input.fasta))
    size = ctx.config["sequences"]["alignment"]["block_size"]
    np.save(ctx.output.scores, gather([np.load(path) for path in ctx.input.blocks], n, size))


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
