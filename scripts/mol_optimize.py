"""3D structures for the top-ranked hits: seeded ETKDGv3 conformers, MMFF94 minimization (UFF when
MMFF94 has no parameters for the molecule), the lowest-energy conformer kept and written as SDF."""

import argparse
import logging
from typing import Any

import mol_screen
import pandas as pd
from rdkit import Chem
from rdkit.Chem import AllChem

from medflow_cli import add_common_args, progress, run_step

log = logging.getLogger("mol_optimize")
COLUMNS = [
    "inchikey",
    "id",
    "status",
    "forcefield",
    "energy_kcal_mol",
    "converged",
    "conformers",
    "reason",
]


def optimize(
    smiles: str, conformers: int, max_iterations: int, seed: int, threads: int = 1
) -> tuple[Chem.Mol, dict]:
    """(molecule with its lowest-energy conformer, report); raises ValueError when embedding fails."""
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    params.numThreads = threads
    ids = list(AllChem.EmbedMultipleConfs(mol, numConfs=conformers, params=params))
    if not ids:
        raise ValueError(f"3D embedding failed (ETKDGv3, {conformers} attempts)")
    if AllChem.MMFFHasAllMoleculeParams(mol):
        forcefield = "MMFF94"
        results = AllChem.MMFFOptimizeMoleculeConfs(
            mol, numThreads=threads, maxIters=max_iterations
        )
    else:
        forcefield = "UFF"
        results = AllChem.UFFOptimizeMoleculeConfs(mol, numThreads=threads, maxIters=max_iterations)
    if not results or any(energy is None for _, energy in results):
        raise ValueError(f"{forcefield} minimization failed")
    best = min(range(len(ids)), key=lambda i: (results[i][1], i))
    keep = Chem.Mol(mol, confId=ids[best])
    report = {
        "forcefield": forcefield,
        "energy_kcal_mol": round(float(results[best][1]), 4),
        "converged": results[best][0] == 0,
        "conformers": len(ids),
    }
    return keep, report


def optimize_hits(
    screened: pd.DataFrame,
    top_n: int,
    conformers: int,
    max_iterations: int,
    seed: int,
    threads: int,
) -> tuple[list[Chem.Mol], pd.DataFrame]:
    """Optimize the top_n ranked hits; molecules for the SDF and one report row per hit tried."""
    hits = mol_screen.rank_hits(screened[screened["stage"] == ""]).head(top_n)
    mols, rows = [], []
    for hit in progress(hits.itertuples(), total=len(hits), desc="3D optimization"):
        row = {"inchikey": hit.inchikey, "id": hit.id}
        try:
            mol, report = optimize(hit.smiles, conformers, max_iterations, seed, threads)
        except ValueError as error:
            rows.append({**row, "status": "failed", "reason": str(error)})
            continue
        for key, value in {
            "_Name": hit.id,
            "inchikey": hit.inchikey,
            "rank": hit.rank,
            "score": f"{hit.score:.4f}",
            **report,
        }.items():
            mol.SetProp(key, str(value))
        mols.append(mol)
        rows.append({**row, "status": "ok", **report, "reason": ""})
    return mols, pd.DataFrame(rows, columns=COLUMNS)


def main(
    screened: str,
    sdf: str,
    table: str,
    top_n: int,
    conformers: int,
    max_iterations: int,
    seed: int,
    threads: int = 1,
) -> None:
    """Write the hits' 3D SDF and the per-hit optimization table."""
    mols, report = optimize_hits(
        pd.read_parquet(screened), top_n, conformers, max_iterations, seed, threads
    )
    with Chem.SDWriter(sdf) as writer:
        for mol in mols:
            writer.write(mol)
    report.to_csv(table, index=False)
    log.info("optimized %d hits, %d failed", len(mols), int((report["status"] == "failed").sum()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("screened", help="screened unique molecules (mol_gather.py)")
    parser.add_argument("sdf", help="output SDF of the optimized hits")
    parser.add_argument("table", help="output CSV: force field, energy, status per hit")
    parser.add_argument("--top-n", type=int, default=10)
    parser.add_argument("--conformers", type=int, default=5)
    parser.add_argument("--max-iterations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    add_common_args(parser)
    return parser


def from_snakemake(smk: Any) -> dict[str, Any]:
    return {
        "screened": smk.input.screened,
        "sdf": smk.output.sdf,
        "table": smk.output.table,
        **dict(smk.params.settings),
        "threads": smk.threads,
    }


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
