"""Gathering chunks: duplicates merged by InChIKey with every source ID kept; all-bad input fails."""

import pandas as pd
import pytest
from mol_gather import gather, main
from mol_process import process_frame
from mol_split import REJECT_COLUMNS

from medflow_cli import InputError

SETTINGS = {"tautomer": False, "descriptors": [], "filters": {"lipinski": True}}


def processed(smiles: list[str], file: str = "in.smi") -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "file": file,
            "record": range(1, len(smiles) + 1),
            "id": [f"{file}-{i}" for i in range(len(smiles))],
            "smiles": smiles,
        }
    )
    return process_frame(frame, SETTINGS, threads=1)


def test_duplicates_are_merged_keeping_every_id():
    first = processed(["CC(=O)O", "CCO", "C1CC"], "a.smi")
    second = processed(["CC(=O)[O-].[Na+]", "OCC"], "b.smi")
    input_rejects = pd.DataFrame(
        [["c.csv", 0, "", "", "input", "empty file: no molecule records"]], columns=REJECT_COLUMNS
    )
    result = gather([first, second], input_rejects)
    unique = result["unique"]
    assert unique["smiles"].tolist() == ["CC(=O)O", "CCO"]
    assert unique["all_ids"].tolist() == ["a.smi-0;b.smi-0", "a.smi-1;b.smi-1"]
    assert unique["all_records"].tolist() == ["a.smi:1;b.smi:1", "a.smi:2;b.smi:2"]
    assert unique["n_records"].tolist() == [2, 2]
    assert result["counts"] == {
        "records_in": 6,
        "input_rejects": 1,
        "parse_failed": 1,
        "standardize_failed": 0,
        "descriptors_failed": 0,
        "standardized": 4,
        "duplicates_merged": 2,
        "unique_molecules": 2,
    }
    assert result["rejects"]["reasons"].str.contains("empty file|syntax error").all()


def test_no_usable_molecule_after_parsing_fails_with_the_reasons(tmp_path):
    chunk = tmp_path / "0001.parquet"
    processed(["C1CC", "C(C)(C)(C)(C)C"]).to_parquet(chunk, index=False)
    pd.DataFrame(columns=REJECT_COLUMNS).to_csv(tmp_path / "rej.csv", index=False)
    outputs = {
        name: str(tmp_path / name)
        for name in (
            "standardized",
            "descriptors_parquet",
            "descriptors_csv",
            "screened",
            "record_rejects",
            "counts",
        )
    }
    with pytest.raises(InputError) as error:
        main([str(chunk)], str(tmp_path / "rej.csv"), **outputs)
    message = str(error.value)
    assert "no usable molecule: all 2 input records failed parsing" in message
    assert "in.smi (record 1): unparseable SMILES (syntax error)" in message
