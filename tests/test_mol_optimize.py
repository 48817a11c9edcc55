"""3D optimization: seeded and reproducible, MMFF94 or UFF, embedding failures reported."""

import pandas as pd
import pytest
from rdkit import Chem

from medflow.molecules.conformers import optimize, optimize_hits
from medflow.molecules.io import REJECT_COLUMNS
from medflow.molecules.tables import build_tables


def test_mmff94_lowest_conformer_is_kept():
    mol, report = optimize("CC(=O)Nc1ccc(O)cc1", conformers=4, max_iterations=500, seed=7)
    assert report["forcefield"] == "MMFF94" and report["conformers"] == 4 and report["converged"]
    assert mol.GetNumConformers() == 1 and mol.GetConformer().Is3D()
    assert mol.GetNumAtoms() == 20  # hydrogens added


def test_uff_when_mmff94_has_no_parameters():
    _, report = optimize("OB(O)c1ccccc1", conformers=2, max_iterations=200, seed=1)
    assert report["forcefield"] == "UFF"


def test_same_seed_same_structure_for_any_thread_count():
    a, ra = optimize("CCCCOc1ccccc1", 3, 200, seed=11, threads=1)
    b, rb = optimize("CCCCOc1ccccc1", 3, 200, seed=11, threads=2)
    assert ra == rb and Chem.MolToMolBlock(a) == Chem.MolToMolBlock(b)


def test_impossible_geometry_fails_embedding():
    with pytest.raises(ValueError, match="3D embedding failed"):
        optimize("[C@@H]12C[C@H]1C2", conformers=2, max_iterations=100, seed=1)


def test_a_hit_over_the_heavy_atom_cap_is_not_embedded():
    # a 60-residue peptide (502 heavy atoms) took over 5 minutes of ETKDGv3 and then failed
    peptide = Chem.MolToSmiles(Chem.MolFromSequence("ACDEFGHIKLMNPQRSTVWY" * 3))
    with pytest.raises(
        ValueError,
        match=r"too large for 3D embedding: \d+ heavy atoms > molecules.optimize.max_heavy_atoms 150",
    ):
        optimize(peptide, conformers=2, max_iterations=100, seed=1, max_heavy_atoms=150)


def test_top_hits_rows_include_failures():
    screened = pd.DataFrame(
        {
            "inchikey": ["K1", "K2", "K3"],
            "id": ["good", "strained", "screened-out"],
            "smiles": ["CC(=O)Nc1ccc(O)cc1", "[C@@H]12C[C@H]1C2", "CCO"],
            "stage": ["", "", "screen"],
            "qed": [0.6, 0.9, 0.9],
            "SAScore": [1.0, 1.0, 1.0],
        }
    )
    mols, report = optimize_hits(
        screened, top_n=5, conformers=2, max_iterations=100, seed=3, threads=1
    )
    assert report["id"].tolist() == ["strained", "good"]  # ranked by score; screened-out not tried
    assert report["status"].tolist() == ["failed", "ok"]
    # whole numbers beside a failure's empty cell (it made the column 2.0 in hits_3d.csv)
    assert report.to_csv(index=False).splitlines()[2].endswith(",2,")
    assert [m.GetProp("_Name") for m in mols] == ["good"]
    assert mols[0].GetProp("rank") == "1"  # as in hits.csv, where the failed hit is a reject
    hits = build_tables(
        screened.assign(
            file="f",
            record=1,
            input_smiles="",
            reasons="",
            failed_filters="",
            not_reached="",
            all_ids="",
            all_records="",
        ),
        pd.DataFrame(columns=REJECT_COLUMNS),
        report,
        {"records_in": 3, "duplicates_merged": 0},
        [],
    )["hits"]
    assert hits.set_index("id")["rank"].to_dict() == {"good": 1}


@pytest.mark.parametrize("smiles", ["[CH3]", "[He]", "[U+6]", "[O][O]", "C[Se]C", "[Fe+3]"])
def test_unusual_hits_give_a_status_row_not_a_traceback(smiles):
    screened = pd.DataFrame(
        {
            "inchikey": ["K"],
            "id": ["odd"],
            "smiles": [smiles],
            "stage": [""],
            "qed": [0.5],
            "SAScore": [2.0],
        }
    )
    mols, report = optimize_hits(
        screened, top_n=1, conformers=2, max_iterations=50, seed=1, threads=1
    )
    assert report["status"].tolist() in (["ok"], ["failed"])
    assert len(mols) == (report["status"] == "ok").sum()
    if report.loc[0, "status"] == "failed":
        assert report.loc[0, "reason"]


def test_an_implausible_force_field_energy_is_a_failure_not_a_structure():
    # UFF has "parameters" for hypervalent iodine, and gives PhICl2 1.2e9 kcal/mol
    with pytest.raises(
        ValueError, match=r"UFF energy .* kcal/mol is implausible for 9 heavy atoms"
    ):
        optimize("ClI(Cl)c1ccccc1", conformers=2, max_iterations=200, seed=1)
