"""Make the embedded example: simulated protein families and their labels table.

See medflow.sequences.simulate for the model (BLOSUM62 substitutions, indels, uneven divergence and
fragments). Runs only when sequences.fasta is empty.

Outputs:
    fasta: FASTA of the simulated families
    labels: labels table (TSV: id, group)
"""

from pathlib import Path

from medflow.sequences.io import write_fasta
from medflow.sequences.simulate import simulate
from medflow.step import Context, Step

STEP = Step(__file__, settings=("seed", "sequences.example"))


def main(ctx: Context) -> None:
    records, table = simulate(**ctx.config["sequences"]["example"], seed=ctx.config["seed"])
    Path(ctx.output.fasta).parent.mkdir(parents=True, exist_ok=True)
    write_fasta(ctx.output.fasta, records)
    table.to_csv(ctx.output.labels, sep="\t", index=False)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
