"""3D structures for the top-ranked hits: seeded ETKDGv3 conformers, MMFF94 minimization (UFF when
MMFF94 has no parameters for the molecule), the lowest-energy conformer kept."""

import pandas as pd
from rdkit import Chem
from rdkit.Chem import AllChem

from medflow.molecules import screen
from medflow.step import progress

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


# A minimized structure's energy beyond this many kcal/mol per heavy atom (strained drug-like
# molecules stay within tens) means the force field has no sensible terms for it (UFF on a
# hypervalent iodine gave 1.2e9 kcal/mol)
ENERGY_PER_HEAVY_ATOM = 1000


def optimize(
    smiles: str,
    conformers: int,
    max_iterations: int,
    seed: int,
    threads: int = 1,
    max_heavy_atoms: int | None = None,
) -> tuple[Chem.Mol, dict]:
    """(molecule with its lowest-energy conformer, report); raises ValueError when embedding
    fails, or before it when the molecule has more than max_heavy_atoms heavy atoms."""
    parsed = Chem.MolFromSmiles(smiles)
    if parsed is None:
        raise ValueError(f"canonical SMILES {smiles!r} does not parse back for 3D embedding")
    heavy = parsed.GetNumHeavyAtoms()
    if max_heavy_atoms is not None and heavy > max_heavy_atoms:
        raise ValueError(
            f"too large for 3D embedding: {heavy} heavy atoms > molecules.optimize."
            f"max_heavy_atoms {max_heavy_atoms}"
        )
    mol = Chem.AddHs(parsed)
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
    elif AllChem.UFFHasAllMoleculeParams(mol):
        forcefield = "UFF"
        results = AllChem.UFFOptimizeMoleculeConfs(mol, numThreads=threads, maxIters=max_iterations)
    else:
        raise ValueError("neither MMFF94 nor UFF has parameters for every atom")
    if not results or any(energy is None for _, energy in results):
        raise ValueError(f"{forcefield} minimization failed")
    best = min(range(len(ids)), key=lambda i: (results[i][1], i))
    energy = float(results[best][1])
    if abs(energy) > max(ENERGY_PER_HEAVY_ATOM * heavy, 10_000):
        raise ValueError(
            f"{forcefield} energy {energy:.3g} kcal/mol is implausible for {heavy} heavy atoms: "
            "the force field does not describe this molecule (a hypervalent or unusual atom), so "
            "no 3D structure is written"
        )
    keep = Chem.Mol(mol, confId=ids[best])
    report = {
        "forcefield": forcefield,
        "energy_kcal_mol": round(energy, 4),
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
    max_heavy_atoms: int | None = None,
) -> tuple[list[Chem.Mol], pd.DataFrame]:
    """Optimize the top_n ranked hits; molecules for the SDF and one report row per hit tried.

    A hit that fails here becomes a reject, so the hits ranked below it move up: each molecule's
    `rank` in the SDF is its rank in hits.csv (its screen rank less the failures above it)."""
    hits = screen.rank_hits(screened[screened["stage"] == ""]).head(top_n)
    mols, rows = [], []
    failed = 0
    for hit in progress(hits.itertuples(), total=len(hits), desc="3D optimization"):
        row = {"inchikey": hit.inchikey, "id": hit.id}
        try:
            mol, report = optimize(
                hit.smiles, conformers, max_iterations, seed, threads, max_heavy_atoms
            )
        except ValueError as error:
            rows.append({**row, "status": "failed", "reason": str(error)})
            failed += 1
            continue
        for key, value in {
            "_Name": hit.id,
            "inchikey": hit.inchikey,
            "rank": hit.rank - failed,
            "score": f"{hit.score:.4f}",
            **report,
        }.items():
            mol.SetProp(key, str(value))
        mols.append(mol)
        rows.append({**row, "status": "ok", **report, "reason": ""})
    table = pd.DataFrame(rows, columns=COLUMNS)
    # whole numbers whether or not a hit failed (a failure's empty cell made the column 5.0)
    table["conformers"] = table["conformers"].astype("Int64")
    return mols, table
