"""The per-chunk pipeline: one row per record, failures as rows, same result for any thread count."""

import mol_process
import pandas as pd
import pytest
from mol_process import process_frame

from medflow_cli import InputError

SETTINGS = {
    "tautomer": False,
    "descriptors": ["MolMR"],
    "filters": {"lipinski": True, "lipinski_violations": 0, "veber": True, "alerts": ["PAINS_A"]},
}


def chunk(smiles: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": "in.smi",
            "record": range(1, len(smiles) + 1),
            "id": [f"m{i}" for i in range(len(smiles))],
            "smiles": smiles,
        }
    )


def test_each_record_gets_a_row_with_its_outcome():
    frame = process_frame(
        chunk(
            [
                "CCO.[Na+].[Cl-]",
                "C1CC",
                "O=C1C(=Cc2ccccc2)SC(=S)N1",
                "C" * 30,
            ]
        ),
        SETTINGS,
        threads=1,
    )
    assert frame["record"].tolist() == [1, 2, 3, 4]
    assert frame["stage"].tolist() == ["", "parse", "screen", "screen"]
    assert frame.loc[0, "smiles"] == "CCO" and frame.loc[0, "input_smiles"] == "CCO.[Na+].[Cl-]"
    assert "syntax error" in frame.loc[1, "reasons"]
    assert frame.loc[2, "reasons"] == "alert PAINS_A: ene_rhod_A(235)"
    long_chain = frame.loc[3, "reasons"].split("; ")
    assert long_chain[0].startswith("Lipinski: 1 violations > 0 allowed (MolLogP")
    assert long_chain[1] == "Veber: NumRotatableBonds 27 > 10"
    assert frame.loc[3, "failed_filters"] == "lipinski;veber"
    for column in ("MolWt", "qed", "SAScore", "MolMR", "NumRotatableBonds", "TPSA"):
        assert column in frame.columns


def test_thread_count_does_not_change_the_result():
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "C(C)(C)(C)(C)C", "CCN(CC)CC"] * 9
    one = process_frame(chunk(smiles), SETTINGS, threads=1)
    two = process_frame(chunk(smiles), SETTINGS, threads=2)
    pd.testing.assert_frame_equal(one, two)


def test_a_failing_descriptor_rejects_only_that_molecule(monkeypatch):
    mol_process.init_worker(SETTINGS)

    def broken(mol):
        raise ZeroDivisionError("no atoms to average")

    monkeypatch.setitem(mol_process._WORKER["table"], "MolMR", broken)
    row = mol_process.process_smiles("CCO")
    assert row["stage"] == "descriptors"
    assert row["reasons"].startswith("descriptor calculation failed: ZeroDivisionError")


def test_unknown_descriptor_stops_the_step_with_close_names(tmp_path):
    chunk(["CCO"]).to_parquet(tmp_path / "c.parquet", index=False)
    settings = {**SETTINGS, "descriptors": ["MolWeight"]}
    with pytest.raises(
        InputError, match="unknown RDKit descriptor 'MolWeight' \\(did you mean MolWt"
    ):
        mol_process.main(str(tmp_path / "c.parquet"), str(tmp_path / "o.parquet"), settings)
