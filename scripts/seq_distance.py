"""Distances from alignment scores, normalized by the self-scores.

Formulas (sequences.distance.formula), with s(a,b) the score and s(a,a), s(b,b) the self-scores:
  min       1 - s(a,b) / min(s(a,a), s(b,b))   (a sequence contained in another is at distance 0)
  mean      1 - s(a,b) / ((s(a,a) + s(b,b)) / 2)
  max       1 - s(a,b) / max(s(a,a), s(b,b))
  geometric 1 - s(a,b) / sqrt(s(a,a) * s(b,b))
Results are clipped to [0, 1] (global scores can be negative) and the diagonal is 0.

Inputs:
    scores: score matrix (.npy)
    fasta: FASTA of the unique sequences (for names)
Outputs:
    distances: distance matrix (.npy)
"""

import numpy as np

from medflow.sequences.io import read_fasta
from medflow.sequences.stats import distances
from medflow.step import Context, Step

STEP = Step(__file__, settings=("sequences.distance",))


def main(ctx: Context) -> None:
    ids = [record.id for record in read_fasta(ctx.input.fasta)]
    formula = ctx.config["sequences"]["distance"]["formula"]
    np.save(ctx.output.distances, distances(np.load(ctx.input.scores), formula, ids))


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
