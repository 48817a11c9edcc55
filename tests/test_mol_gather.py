"""Gathering chunks: duplicates merged by InChIKey with every source ID kept (as JSON lists, so IDs
may hold ';'), streamed chunk by chunk; all-bad input fails with the reasons."""

import json

import mol_gather
import pandas as pd
import pytest

from medflow.molecules.io import REJECT_COLUMNS
from medflow.molecules.pipeline import process_frame
from medflow.step import InputError

SETTINGS = {"tautomer": False, "descriptors": [], "filters": {"lipinski": True}, "early_exit": True}
OUTPUTS = (
    "standardized",
    "descriptors_parquet",
    "descriptors_csv",
    "screened",
    "record_rejects",
    "counts",
)
SUFFIX = {"descriptors_parquet": ".parquet", "screened": ".parquet", "counts": ".json"}


def processed(
    smiles: list[str], file: str = "in.smi", ids: list[str] | None = None
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "file": file,
            "record": range(1, len(smiles) + 1),
            "id": ids or [f"{file}-{i}" for i in range(len(smiles))],
            "smiles": smiles,
        }
    )
    return process_frame(frame, SETTINGS, threads=1)


def run_gather(tmp_path, frames: list[pd.DataFrame], input_rejects: pd.DataFrame | None = None):
    chunks = []
    for number, frame in enumerate(frames, start=1):
        chunks.append(str(tmp_path / f"{number:04d}.parquet"))
        frame.to_parquet(chunks[-1], index=False)
    rejects = input_rejects if input_rejects is not None else pd.DataFrame(columns=REJECT_COLUMNS)
    rejects.to_csv(tmp_path / "rej.csv", index=False)
    outputs = {name: str(tmp_path / f"{name}{SUFFIX.get(name, '.csv')}") for name in OUTPUTS}
    ctx = mol_gather.STEP.context(
        input={"chunks": chunks, "rejects": str(tmp_path / "rej.csv")}, output=outputs
    )
    mol_gather.main(ctx)
    return outputs


def test_duplicates_are_merged_keeping_every_id(tmp_path):
    first = processed(["CC(=O)O", "CCO", "C1CC"], "a.smi")
    second = processed(["CC(=O)[O-].[Na+]", "OCC"], "b.smi", ids=["DB11331;DB14095", "e,2"])
    input_rejects = pd.DataFrame(
        [["c.csv", 0, "", "", "input", "empty file: no molecule records"]], columns=REJECT_COLUMNS
    )
    out = run_gather(tmp_path, [first, second], input_rejects)
    unique = pd.read_csv(out["standardized"], keep_default_na=False)
    assert unique["smiles"].tolist() == ["CC(=O)O", "CCO"]
    assert [json.loads(v) for v in unique["all_ids"]] == [
        ["a.smi-0", "DB11331;DB14095"],
        ["a.smi-1", "e,2"],
    ]
    assert [json.loads(v) for v in unique["all_records"]] == [
        [["a.smi", 1], ["b.smi", 1]],
        [["a.smi", 2], ["b.smi", 2]],
    ]
    assert unique["n_records"].tolist() == [2, 2]
    assert json.loads((tmp_path / "counts.json").read_text()) == {
        "records_in": 6,
        "input_rejects": 1,
        "parse_failed": 1,
        "standardize_failed": 0,
        "descriptors_failed": 0,
        "standardized": 4,
        "duplicates_merged": 2,
        "unique_molecules": 2,
    }
    rejects = pd.read_csv(out["record_rejects"], keep_default_na=False)
    assert rejects["reasons"].str.contains("empty file|syntax error").all() and len(rejects) == 2
    descriptors = pd.read_parquet(out["descriptors_parquet"])
    pd.testing.assert_frame_equal(
        descriptors, pd.read_csv(out["descriptors_csv"], dtype={"id": str})
    )
    assert descriptors["inchikey"].tolist() == unique["inchikey"].tolist()
    screened = pd.read_parquet(out["screened"])
    assert screened["id"].tolist() == ["a.smi-0", "a.smi-1"]


def test_a_molecule_first_seen_in_a_later_chunk_is_kept_once(tmp_path):
    out = run_gather(tmp_path, [processed(["C1CC"], "a.smi"), processed(["CCO", "OCC"], "b.smi")])
    unique = pd.read_csv(out["standardized"])
    assert unique["id"].tolist() == ["b.smi-0"] and unique["n_records"].tolist() == [2]


def test_no_usable_molecule_after_parsing_fails_with_the_reasons(tmp_path):
    with pytest.raises(InputError) as error:
        run_gather(tmp_path, [processed(["C1CC", "C(C)(C)(C)(C)C"])])
    message = str(error.value)
    assert "no usable molecule: all 2 input records failed parsing" in message
    assert "in.smi (record 1): unparseable SMILES (syntax error)" in message


def test_ids_shared_by_different_molecules_are_warned_about(tmp_path, caplog):
    first = processed(["CCO", "CCN"], "a.smi", ids=["X1", "X2"])
    second = processed(["CCCl", "NCC"], "b.smi", ids=["X1", "X2"])
    with caplog.at_level("WARNING", logger="medflow"):
        outputs = run_gather(tmp_path, [first, second])
    assert "2 IDs are shared by more than one record, 1 of them by different molecules" in (
        caplog.text
    )
    assert "'X1' (a.smi:1, b.smi:1)" in caplog.text
    standardized = pd.read_csv(outputs["standardized"])
    assert sorted(standardized["id"]) == ["X1", "X1", "X2"]  # both X1 molecules kept


def test_removed_fragments_are_in_the_standardized_table(tmp_path):
    outputs = run_gather(tmp_path, [processed(["CC(=O)[O-].[Na+]", "CCO"])])
    table = pd.read_csv(outputs["standardized"], keep_default_na=False)
    assert table["removed_fragments"].tolist() == ["[Na+]", ""]
