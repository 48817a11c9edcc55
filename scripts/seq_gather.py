"""The full symmetric score matrix of the dense path: the alignment blocks gathered, or, when the
unique sequences fit one block (at most sequences.alignment.block_size), all pairs aligned here.

Small inputs so skip a job start-up; larger ones arrive as seq_align_block jobs that a cluster
spreads, in medflow.sequences.blocks.block_pairs() order (the order the rule lists them), and
every pair is checked to be there.

Inputs:
    blocks (many or none): block .npy files, in block_pairs order (none: align all pairs here)
    fasta: FASTA of the unique sequences
    qc_summary: QC summary JSON (names the matrix)
Outputs:
    scores: score matrix (.npy)
"""

import json
from pathlib import Path

import numpy as np

from medflow.sequences.align import Scoring, gather, score_block
from medflow.sequences.io import read_fasta
from medflow.step import Context, InputError, Step, log

STEP = Step(__file__, settings=("sequences.alignment",), threads=True)


def main(ctx: Context) -> None:
    seqs = [record.seq for record in read_fasta(ctx.input.fasta)]
    settings = ctx.config["sequences"]["alignment"]
    if ctx.input.blocks:
        blocks = [np.load(path) for path in ctx.input.blocks]
        scores = gather(blocks, len(seqs), settings["block_size"])
    elif len(seqs) <= settings["block_size"]:
        matrix = json.loads(Path(ctx.input.qc_summary).read_text())["matrix"]
        scoring = Scoring.from_settings(settings, matrix)
        log.info("aligning the %d sequences all-vs-all with %d threads", len(seqs), ctx.threads)
        scores = score_block(seqs, seqs, True, scoring, ctx.threads)
    else:
        raise InputError(
            f"{len(seqs)} sequences are more than one block of {settings['block_size']}: "
            "give the alignment blocks (seq_align_block outputs) in block_pairs order"
        )
    np.save(ctx.output.scores, scores)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
