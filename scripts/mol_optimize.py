"""3D structures for the top-ranked hits: seeded ETKDGv3 conformers, MMFF94 minimization (UFF when
MMFF94 has no parameters for the molecule), the lowest-energy conformer kept and written as SDF.

Inputs:
    screened: screened unique molecules (mol_gather)
Outputs:
    sdf: SDF of the optimized hits
    table: CSV: force field, energy, status per hit tried
"""

import pandas as pd
from rdkit import Chem

from medflow.molecules import conformers
from medflow.step import Context, Step, log

STEP = Step(__file__, settings=("seed", "molecules.optimize"), threads=True)
COLUMNS = ["inchikey", "id", "smiles", "stage", "qed", "SAScore"]


def main(ctx: Context) -> None:
    settings = ctx.config["molecules"]["optimize"]
    screened = pd.read_parquet(ctx.input.screened, columns=COLUMNS)
    mols, report = conformers.optimize_hits(
        screened,
        settings["top_n"],
        settings["conformers"],
        settings["max_iterations"],
        ctx.config["seed"],
        ctx.threads,
        settings["max_heavy_atoms"],
    )
    with Chem.SDWriter(ctx.output.sdf) as writer:
        for mol in mols:
            writer.write(mol)
    report.to_csv(ctx.output.table, index=False)
    log.info("optimized %d hits, %d failed", len(mols), int((report["status"] == "failed").sum()))


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
