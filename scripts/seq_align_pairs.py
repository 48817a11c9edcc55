"""Sparse path: the k-mer prefilter's candidate pairs of one block of queries, scored with pyopal.

Block `row` holds the queries block_bounds(n, query_block_size(block_size), row) (see
medflow.sequences.blocks: a job aligns about as many pairs as a dense block); each
query's candidates come from all sequences (medflow.sequences.sparse.candidates), and its
self-score is kept for the distances. Each query aligns its nearest candidates first; those that
leave it unsettled (few significant partners, E < sequences.clustering.e_value, or few that are
not) align the rest of their candidates, and those with no partner are searched again against
more targets
(medflow.sequences.sparse.scored_pairs). Writes (i, j, score) arrays as .npz.

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
from medflow.sequences.sparse import refuse_unserved, scored_pairs
from medflow.sequences.stats import alignment_statistics, compositions_of
from medflow.step import Context, Step, log

STEP = Step(
    __file__,
    settings=("sequences.alignment", "sequences.clustering"),
    wildcards=("row",),
    threads=True,
)


def main(ctx: Context) -> None:
    settings = ctx.config["sequences"]["alignment"]
    summary = json.loads(Path(ctx.input.qc_summary).read_text())
    refuse_unserved(summary["alphabet"], summary["matrix"], ctx.config["sequences"])
    seqs = [record.seq for record in read_fasta(ctx.input.fasta)]
    size = query_block_size(settings["block_size"])
    start, stop = block_bounds(len(seqs), size, int(ctx.wildcards.row))
    scoring = Scoring.from_settings(settings, summary["matrix"])
    stats = alignment_statistics(settings, summary["matrix"])
    clustering = ctx.config["sequences"]["clustering"]
    compositions = compositions_of(seqs, summary["matrix"], clustering)
    i, j, scores, searched = scored_pairs(
        seqs, start, stop, scoring, stats, clustering["e_value"], ctx.threads, compositions
    )
    log.info(
        "queries %d-%d (%d threads): %d scored pairs; %d queries unsettled by their nearest "
        "candidates searched deeper, %d without a significant partner searched again",
        start,
        stop - 1,
        ctx.threads,
        i.size,
        searched["searched_deeper"],
        searched["rescued"],
    )
    np.savez(ctx.output.pairs, i=i.astype(np.int32), j=j.astype(np.int32), score=scores)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
