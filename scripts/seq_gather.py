"""Gather the alignment blocks into the full symmetric score matrix, checking every pair is there."""

import argparse

import numpy as np
from seq_align import block_bounds
from seq_io import read_fasta

from medflow_cli import InputError, add_common_args, run_step


def block_pairs(n: int, block_size: int) -> list[tuple[int, int]]:
    """(row, col) of every block of the upper triangle, row-major: the order the rule lists them."""
    count = -(-n // block_size)
    return [(row, col) for row in range(count) for col in range(row, count)]


def gather(blocks: list[np.ndarray], n: int, block_size: int) -> np.ndarray:
    """The n x n score matrix from the upper-triangle blocks, mirrored."""
    pairs = block_pairs(n, block_size)
    if len(blocks) != len(pairs):
        raise InputError(
            f"expected {len(pairs)} alignment blocks for {n} sequences, got {len(blocks)}"
        )
    scores = np.full((n, n), np.nan)
    for (row, col), block in zip(pairs, blocks, strict=True):
        (r0, r1), (c0, c1) = block_bounds(n, block_size, row), block_bounds(n, block_size, col)
        scores[r0:r1, c0:c1] = block
        scores[c0:c1, r0:r1] = block.T
    assert not np.isnan(scores).any(), "the gathered blocks leave some pairs unscored"
    return scores


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("blocks", nargs="+", help="block .npy files, in block_pairs order")
    parser.add_argument("--fasta", required=True, help="FASTA of the unique sequences")
    parser.add_argument("--block-size", type=int, required=True, help="sequences per block")
    parser.add_argument("--output", required=True, help="score matrix (.npy) to write")
    add_common_args(parser, threads=False)
    return parser


def from_snakemake(smk) -> dict:
    return {
        "blocks": list(smk.input.blocks),
        "fasta": smk.input.fasta,
        "block_size": smk.params.block_size,
        "output": smk.output[0],
    }


def main(blocks, fasta, block_size, output) -> None:
    """Load, assemble and save."""
    n = len(read_fasta(fasta))
    np.save(output, gather([np.load(path) for path in blocks], n, block_size))


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
