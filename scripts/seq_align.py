"""Score-only pairwise alignment of one block of the all-vs-all matrix, with pyopal or Biopython.

The unique sequences are cut into blocks of `block_size`; block (row, col) with row <= col holds
the scores of row-block sequences against col-block sequences (diagonal blocks compute the upper
triangle and mirror it). Both engines use one gap convention: a gap of length L costs
gap_open + (L - 1) * gap_extend, so pyopal and Biopython's PairwiseAligner give identical scores.
"""

import argparse
import json
from collections.abc import Callable
from multiprocessing.pool import ThreadPool
from pathlib import Path

import numpy as np
import pyopal
from Bio.Align import PairwiseAligner
from scoring_matrices import ScoringMatrix
from seq_io import load_matrix, read_fasta

from medflow_cli import InputError, add_common_args, progress, run_step

ALGORITHM = {"local": "sw", "global": "nw"}


def block_bounds(n: int, block_size: int, block: int) -> tuple[int, int]:
    """[start, end) of a block of `block_size` sequences out of n."""
    return block * block_size, min((block + 1) * block_size, n)


def pyopal_row_scorer(
    targets: list[str], matrix: str, mode: str, gap_open: int, gap_extend: int
) -> Callable[[str, int], np.ndarray]:
    """A function scoring one query against targets[start:] with pyopal (releases the GIL)."""
    if gap_open < gap_extend:
        raise InputError(
            f"pyopal needs gap_open >= gap_extend (got {gap_open} < {gap_extend}); raise "
            "sequences.alignment.gap_open or set sequences.alignment.engine: biopython"
        )
    biopython = load_matrix(matrix)
    scores = np.asarray(biopython)
    if not np.array_equal(scores, np.round(scores)):
        raise InputError(
            f"pyopal needs an integer matrix and {matrix} is not; choose another "
            "sequences.alignment.matrix or set sequences.alignment.engine: biopython"
        )
    scoring = ScoringMatrix(scores.tolist(), alphabet="".join(biopython.alphabet), name=matrix)
    aligner = pyopal.Aligner(scoring, gap_open=gap_open, gap_extend=gap_extend)
    database = pyopal.Database(targets, aligner.alphabet)
    algorithm = ALGORITHM[mode]

    def score_row(query: str, start: int) -> np.ndarray:
        hits = aligner.align(query, database, algorithm=algorithm, start=start)
        return np.fromiter((hit.score for hit in hits), dtype=float, count=len(targets) - start)

    return score_row


def biopython_row_scorer(
    targets: list[str], matrix: str, mode: str, gap_open: int, gap_extend: int
) -> Callable[[str, int], np.ndarray]:
    """The reference: Biopython's PairwiseAligner, one pair at a time."""
    aligner = PairwiseAligner(
        mode=mode,
        substitution_matrix=load_matrix(matrix),
        open_gap_score=-gap_open,
        extend_gap_score=-gap_extend,
    )

    def score_row(query: str, start: int) -> np.ndarray:
        return np.array([aligner.score(query, target) for target in targets[start:]], dtype=float)

    return score_row


ENGINES = {"pyopal": pyopal_row_scorer, "biopython": biopython_row_scorer}


def score_block(
    queries: list[str],
    targets: list[str],
    diagonal: bool,
    engine: str = "pyopal",
    matrix: str = "BLOSUM62",
    mode: str = "local",
    gap_open: int = 11,
    gap_extend: int = 1,
    threads: int = 1,
) -> np.ndarray:
    """Scores of queries x targets; on a diagonal block (queries == targets) score j >= i only."""
    score_row = ENGINES[engine](targets, matrix, mode, gap_open, gap_extend)
    block = np.zeros((len(queries), len(targets)))

    def row(i: int) -> tuple[int, np.ndarray]:
        return i, score_row(queries[i], i if diagonal else 0)

    with ThreadPool(max(1, threads)) as pool:
        rows = pool.imap_unordered(row, range(len(queries)), chunksize=4)
        for i, scores in progress(rows, total=len(queries), desc="aligning"):
            block[i, block.shape[1] - scores.size :] = scores
    if diagonal:
        upper = np.triu(block)
        block = upper + np.triu(block, 1).T
    return block


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fasta", help="FASTA of the unique sequences (QC output)")
    parser.add_argument("--qc-summary", required=True, help="QC summary JSON (names the matrix)")
    parser.add_argument("--output", required=True, help="block scores (.npy) to write")
    parser.add_argument("--row", type=int, default=0, help="row block index")
    parser.add_argument("--col", type=int, default=0, help="column block index (>= row)")
    parser.add_argument("--block-size", type=int, default=1000, help="sequences per block")
    parser.add_argument("--engine", choices=sorted(ENGINES), default="pyopal")
    parser.add_argument("--mode", choices=sorted(ALGORITHM), default="local")
    parser.add_argument("--gap-open", type=int, default=11, help="cost of a gap's first position")
    parser.add_argument("--gap-extend", type=int, default=1, help="cost of each further position")
    add_common_args(parser)
    return parser


def from_snakemake(smk) -> dict:
    params = smk.params.alignment
    return {
        "fasta": smk.input.fasta,
        "qc_summary": smk.input.summary,
        "output": smk.output[0],
        "row": int(smk.wildcards.row),
        "col": int(smk.wildcards.col),
        **{key: params[key] for key in ("block_size", "engine", "mode", "gap_open", "gap_extend")},
        "threads": smk.threads,
    }


def main(fasta, qc_summary, output, row, col, block_size, threads, **options) -> None:
    """Score one block and save it."""
    seqs = [record.seq for record in read_fasta(fasta)]
    matrix = json.loads(Path(qc_summary).read_text())["matrix"]
    r0, r1 = block_bounds(len(seqs), block_size, row)
    c0, c1 = block_bounds(len(seqs), block_size, col)
    block = score_block(
        seqs[r0:r1], seqs[c0:c1], row == col, matrix=matrix, threads=threads, **options
    )
    np.save(output, block)


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
