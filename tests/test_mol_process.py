"""The per-chunk pipeline: one row per record, failures as rows, same result for any thread count,
and the early exit: same verdicts, fewer descriptors, the checks not reached named."""

import mol_process
import pandas as pd
import pytest

from medflow.molecules import pipeline
from medflow.molecules.pipeline import Worker, process_frame
from medflow.step import InputError

SETTINGS = {
    "tautomer": False,
    "descriptors": ["MolMR"],
    "filters": {
        "lipinski": True,
        "lipinski_violations": 0,
        "veber": True,
        "alerts": ["PAINS_A"],
        "ranges": {"SAScore": {"max": 6}},
    },
    "early_exit": False,
}
EARLY = {**SETTINGS, "early_exit": True}


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
        chunk(["CCO.[Na+].[Cl-]", "C1CC", "O=C1C(=Cc2ccccc2)SC(=S)N1", "C" * 30]),
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
    assert frame["not_reached"].tolist() == ["", "", "", ""]
    for column in ("MolWt", "qed", "SAScore", "MolMR", "NumRotatableBonds", "TPSA"):
        assert frame[column].notna().sum() == 3


def test_an_id_that_reads_as_smiles_hints_that_the_columns_are_swapped():
    """A .smi file written ID first: each SMILES (the name) fails to parse, and its ID reads as a
    molecule; a name that is no molecule, or a one-atom one, gives no hint."""
    frame = chunk(["aspirin", "m1", "C1CC", "x"])
    frame["id"] = ["CC(=O)Oc1ccccc1C(=O)O", "m 2", "CCO", "C"]
    result = process_frame(frame, SETTINGS, threads=1)
    assert result["stage"].tolist() == ["parse"] * 4
    hint = "reads as a SMILES: are the two columns swapped?"
    assert (
        hint in result.loc[0, "reasons"] and "'CC(=O)Oc1ccccc1C(=O)O'" in result.loc[0, "reasons"]
    )
    assert [hint in reason for reason in result["reasons"]] == [True, False, True, False]


def test_early_exit_keeps_verdicts_and_names_the_checks_not_reached():
    smiles = ["CCO", "C1CC", "O=C1C(=Cc2ccccc2)SC(=S)N1", "C" * 30, "CC(=O)Nc1ccc(O)cc1"]
    full = process_frame(chunk(smiles), SETTINGS, threads=1)
    early = process_frame(chunk(smiles), EARLY, threads=1)
    for column in ("stage", "smiles", "inchikey", "MolWt", "TPSA"):
        pd.testing.assert_series_equal(full[column], early[column])
    # the long chain fails the rules: alerts, ranges and the expensive descriptors are skipped
    assert early.loc[3, "reasons"] == full.loc[3, "reasons"]
    assert early.loc[3, "not_reached"] == "PAINS_A; range SAScore"
    assert pd.isna(early.loc[3, "qed"]) and pd.isna(early.loc[3, "SAScore"])
    # the rhodanine passes the rules, fails the alerts: only the range is skipped
    assert early.loc[2, "reasons"] == "alert PAINS_A: ene_rhod_A(235)"
    assert early.loc[2, "not_reached"] == "range SAScore"
    # hits are computed in full
    assert early.loc[4, "qed"] == full.loc[4, "qed"] and early.loc[4, "not_reached"] == ""


def test_thread_count_does_not_change_the_result():
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "C(C)(C)(C)(C)C", "CCN(CC)CC"] * 9
    one = process_frame(chunk(smiles), EARLY, threads=1)
    two = process_frame(chunk(smiles), EARLY, threads=2)
    pd.testing.assert_frame_equal(one, two)


def test_a_failing_descriptor_rejects_only_that_molecule(monkeypatch):
    worker = Worker(SETTINGS)

    def broken(mol):
        raise ZeroDivisionError("no atoms to average")

    monkeypatch.setitem(worker.table, "MolMR", broken)
    row = worker("CCO")
    assert row["stage"] == "descriptors"
    assert row["reasons"].startswith("descriptor calculation failed: ZeroDivisionError")


@pytest.mark.parametrize(
    "smiles",
    [
        "[CH3]",
        "[C]",
        "[O-2]",
        "[Fe+3]",
        "[Na+]",
        "[He]",
        "[2H]O[2H]",
        "*C",
        "[C-4]",
        "[U+6]",
        "[H][H]",
        "[H+]",
        "[N+](=O)([O-])[O-]",
        "C[N+](C)(C)C",
        "[CH2]=[CH]",
        "[O][O]",
        "c1cc[c-]c1",
    ],
)
def test_unusual_charges_and_radicals_give_a_row_not_a_traceback(smiles):
    row = process_frame(chunk([smiles]), EARLY, threads=1).iloc[0]
    assert row["stage"] in {"", "parse", "standardize", "descriptors", "screen"}
    assert row["stage"] == "" or row["reasons"]


def test_progress_lines_give_count_rate_and_time_left(caplog):
    caplog.set_level("INFO", logger="medflow.molecules")
    progress = pipeline.Progress(total=10, label="chunk 0001", every=0.0)
    progress.update(4)
    assert "chunk 0001: 4 of 10 molecules (40%)" in caplog.text
    assert "molecules/s, about" in caplog.text and "s left" in caplog.text


def test_unknown_descriptor_stops_the_step_with_close_names(tmp_path):
    chunk(["CCO"]).to_parquet(tmp_path / "c.parquet", index=False)
    ctx = mol_process.STEP.context(
        input={"chunk": str(tmp_path / "c.parquet")},
        output={"table": str(tmp_path / "o.parquet")},
        overrides={"molecules.descriptors": ["MolWeight"]},
    )
    with pytest.raises(
        InputError, match="unknown RDKit descriptor 'MolWeight' \\(did you mean MolWt"
    ):
        mol_process.main(ctx)
