"""Sparse path: the k-mer prefilter's candidate pairs of one block of queries, scored with pyopal.

Block `row` holds the queries block_bounds(n, query_block_size(block_size), row) (see
medflow.sequences.blocks: a job aligns about as many pairs as a dense block); each
query's candidates come from all sequences (medflow.sequences.sparse.candidates), and its
self-score is kept for the distances. Writes (i, j, score) arrays as .npz.

Inputs:
    fasta: FASTA of the unique sequences (QC output)
    qc_summary: QC summary JSON (names the matrix and alphabet)
Outputs:
    pairs: scored candidate pairs (.npz: i, j, score)
"""

import json
from pathlib import Path

import numpy as np

from medflow.sequences.align import Scoring
from medflow.sequences.blocks import block_bounds, query_block_size
from medflow.sequences.io import read_fasta
from medflow.sequences.sparse import candidates, score_pairs
from medflow.step import Context, InputError, Step, log

STEP = Step(__file__, settings=("sequences.alignment",), wildcards=("row",), threads=True)


def main(ctx: Context) -> None:
    settings = ctx.config["sequences"]["alignment"]
    summary = json.loads(Path(ctx.input.qc_summary).read_text())
    if summary["alphabet"] != "protein" or settings["engine"] != "pyopal":
        raise InputError(
            "the sparse path (more than sequences.alignment.sparse_above sequences) needs protein "
            f"sequences and engine pyopal (got {summary['alphabet']}, {settings['engine']}); "
            "raise sequences.alignment.sparse_above to align all pairs"
        )
    seqs = [record.seq for record in read_fasta(ctx.input.fasta)]
    size = query_block_size(settings["block_size"])
    start, stop = block_bounds(len(seqs), size, int(ctx.wildcards.row))
    i, j = candidates(seqs, start, stop)
    log.info("queries %d-%d: %d candidate pairs", start, stop - 1, i.size)
    scoring = Scoring.from_settings(settings, summary["matrix"])
    scores = score_pairs(seqs, i, j, scoring, ctx.threads)
    np.savez(ctx.output.pairs, i=i.astype(np.int32), j=j.astype(np.int32), score=scores)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
