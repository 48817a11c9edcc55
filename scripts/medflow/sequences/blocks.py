"""How the all-vs-all score matrix is cut into blocks: the one source of the block order.

workflow/rules/common.smk lists the block files with `block_pairs()` and seq_gather assembles them
in the same order, so the two can never disagree. Pure Python (no NumPy) for Snakemake's side.
"""

from __future__ import annotations

# The sparse path's prefilter keeps up to TOP candidates per query (medflow.sequences.sparse).
TOP = 300


def block_count(n: int, block_size: int) -> int:
    """Blocks along one side of the n x n matrix."""
    return -(-n // block_size)


def block_bounds(n: int, block_size: int, block: int) -> tuple[int, int]:
    """[start, end) of a block of `block_size` sequences out of n; InputError for a block that
    does not exist (a hand run's --row or --col out of range)."""
    count = block_count(n, block_size)
    if not 0 <= block < count:
        from medflow.step import InputError

        raise InputError(
            f"block {block} does not exist: {n} sequences in blocks of {block_size} make blocks 0 "
            f"to {count - 1}; give a block in that range (the workflow runs each once)"
        )
    return block * block_size, min((block + 1) * block_size, n)


def block_pairs(n: int, block_size: int) -> list[tuple[int, int]]:
    """(row, col) of every block of the upper triangle, row-major: the order of the block files."""
    count = block_count(n, block_size)
    return [(row, col) for row in range(count) for col in range(row, count)]


def block_path(row: int, col: int) -> str:
    """Where block (row, col) of the score matrix is written."""
    return f"results/sequences/alignment/blocks/{row}_{col}.npy"


def query_block_size(block_size: int) -> int:
    """Queries per job on the sparse path: as many as make about the alignments of one dense
    diagonal block (block_size^2 / 2 pairs at TOP candidates each), and at least block_size."""
    return max(block_size, block_size * block_size // (2 * TOP))


def row_blocks(n: int, block_size: int) -> list[int]:
    """The query blocks of the sparse path: block r holds queries
    block_bounds(n, query_block_size(block_size), r)."""
    return list(range(block_count(n, query_block_size(block_size))))


def pairs_path(row: int) -> str:
    """Where the scored candidate pairs of query block `row` (sparse path) are written."""
    return f"results/sequences/alignment/pairs/{row}.npz"


def takes_sparse_path(unique: int, alphabet: str, matrix: str, sequences: dict) -> bool:
    """Whether the sparse path runs (common.smk asks once QC has counted): more than
    sequences.alignment.sparse_above unique sequences, and settings it serves (why_not_sparse).
    Other inputs and settings align every pair, whatever their number."""
    return (
        unique > sequences["alignment"]["sparse_above"]
        and why_not_sparse(alphabet, matrix, sequences) is None
    )


def why_not_sparse(alphabet: str, matrix: str, sequences: dict) -> str | None:
    """Why the sparse path cannot serve these input and settings, or None when it can: it needs
    engine pyopal, local scores, cut significance, and a matrix of the input's kind (as QC
    resolved it) and gap costs with known statistics: protein, or DNA with NUC.4.4 (both strands
    by default)."""
    from medflow.sequences.io import gap_costs, matrix_kind
    from medflow.sequences.stats import alignment_statistics

    alignment = sequences["alignment"]
    cut = sequences["clustering"]["cut"]
    gaps = "/".join(map(str, gap_costs(alignment, matrix)))
    needs = {
        f"a {alphabet} matrix (got {matrix})": matrix_kind(matrix) == alphabet,
        f"engine pyopal (got {alignment['engine']})": alignment["engine"] == "pyopal",
        f"mode local (got {alignment['mode']})": alignment["mode"] == "local",
        f"cut significance (got {cut})": cut == "significance",
        f"known statistics for {matrix} with gaps {gaps}": alignment_statistics(alignment, matrix)
        is not None,
    }
    missing = [name for name, met in needs.items() if not met]
    return None if not missing else "it needs " + ", ".join(missing)
