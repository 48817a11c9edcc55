"""Distances from alignment scores, normalized by the self-scores.

Formulas (sequences.distance.formula), with s(a,b) the score and s(a,a), s(b,b) the self-scores:
  min       1 - s(a,b) / min(s(a,a), s(b,b))   (a sequence contained in another is at distance 0)
  mean      1 - s(a,b) / ((s(a,a) + s(b,b)) / 2)
  max       1 - s(a,b) / max(s(a,a), s(b,b))
  geometric 1 - s(a,b) / sqrt(s(a,a) * s(b,b))
Results are clipped to [0, 1] (global scores can be negative) and the diagonal is 0.
"""

import argparse

import numpy as np
from seq_io import read_fasta

from medflow_cli import InputError, add_common_args, run_step

NORMALIZERS = {
    "min": np.minimum.outer,
    "mean": lambda a, b: np.add.outer(a, b) / 2.0,
    "max": np.maximum.outer,
    "geometric": lambda a, b: np.sqrt(np.multiply.outer(a, b)),
}


def distances(scores: np.ndarray, formula: str = "min", ids: list[str] | None = None) -> np.ndarray:
    """The distance matrix for a symmetric score matrix (vectorized)."""
    self_scores = np.diag(scores).astype(float)
    if (self_scores <= 0).any():
        bad = int(np.argmax(self_scores <= 0))
        name = ids[bad] if ids else f"#{bad}"
        raise InputError(
            f"sequence {name} scores {self_scores[bad]:g} against itself; distances need positive "
            "self-scores. Choose another sequences.alignment.matrix or gap setting."
        )
    result = 1.0 - scores / NORMALIZERS[formula](self_scores, self_scores)
    np.clip(result, 0.0, 1.0, out=result)
    np.fill_diagonal(result, 0.0)
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scores", help="score matrix (.npy)")
    parser.add_argument("--fasta", required=True, help="FASTA of the unique sequences (for names)")
    parser.add_argument("--formula", choices=sorted(NORMALIZERS), default="min")
    parser.add_argument("--output", required=True, help="distance matrix (.npy) to write")
    add_common_args(parser, threads=False)
    return parser


def from_snakemake(smk) -> dict:
    return {
        "scores": smk.input.scores,
        "fasta": smk.input.fasta,
        "formula": smk.params.formula,
        "output": smk.output[0],
    }


def main(scores, fasta, formula, output) -> None:
    """Load scores, convert, save."""
    ids = [record.id for record in read_fasta(fasta)]
    np.save(output, distances(np.load(scores), formula, ids))


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
