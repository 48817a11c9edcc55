"""Final tables: hits ranked, rejects with every reason, counts that add up (checked by the step)."""

import json

import pandas as pd
import pytest

from medflow.molecules.conformers import COLUMNS
from medflow.molecules.io import REJECT_COLUMNS
from medflow.molecules.pipeline import process_frame
from medflow.molecules.screen import filter_order
from medflow.molecules.tables import build_tables, gather

FILTERS = {
    "lipinski": True,
    "lipinski_violations": 0,
    "veber": True,
    "ranges": {},
    "alerts": ["PAINS_A"],
}
SMILES = [
    "CC(=O)Nc1ccc(O)cc1",  # hit
    "CC(=O)Nc1ccc(O)cc1.Cl",  # duplicate of the first once standardized
    "O=C1C(=Cc2ccccc2)SC(=S)N1",  # PAINS
    "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",  # Lipinski and Veber
    "[C@@H]12C[C@H]1C2",  # passes the screen, fails embedding
    "C1CC",  # unparseable
]


@pytest.fixture(params=[True, False], ids=["early_exit", "full"])
def tables(request, tmp_path):
    frame = pd.DataFrame(
        {
            "file": "in.smi",
            "record": range(1, 7),
            "id": [f"m{i}" for i in range(1, 7)],
            "smiles": SMILES,
        }
    )
    settings = {
        "tautomer": False,
        "descriptors": [],
        "filters": FILTERS,
        "early_exit": request.param,
    }
    process_frame(frame, settings, threads=1).to_parquet(tmp_path / "c.parquet", index=False)
    out = {
        name: str(tmp_path / name)
        for name in ("standardized", "descriptors_csv", "record_rejects", "counts")
    }
    out |= {name: str(tmp_path / f"{name}.parquet") for name in ("descriptors_parquet", "screened")}
    gather([str(tmp_path / "c.parquet")], pd.DataFrame(columns=REJECT_COLUMNS), out)
    screened = pd.read_parquet(out["screened"])
    keys = screened.set_index("id")["inchikey"]
    optimized = pd.DataFrame(
        [
            [keys["m1"], "m1", "ok", "MMFF94", -12.3, True, 2, ""],
            [
                keys["m5"],
                "m5",
                "failed",
                "",
                None,
                None,
                None,
                "3D embedding failed (ETKDGv3, 2 attempts)",
            ],
        ],
        columns=COLUMNS,
    )
    return build_tables(
        screened,
        pd.read_csv(out["record_rejects"], keep_default_na=False),
        optimized,
        json.loads(open(out["counts"]).read()),
        filter_order(FILTERS),
    )


def test_hits_and_rejects(tables):
    hits, rejects = tables["hits"], tables["rejects"]
    assert hits["id"].tolist() == ["m1"] and json.loads(hits.loc[0, "all_ids"]) == ["m1", "m2"]
    assert hits.loc[0, "energy_kcal_mol"] == -12.3 and hits.loc[0, "rank"] == 1
    by_id = rejects.set_index("id")
    assert by_id.loc["m3", "reasons"] == "alert PAINS_A: ene_rhod_A(235)"
    assert by_id.loc["m4", "reasons"].count("; ") == 1  # Lipinski and Veber, both reported
    assert (
        by_id.loc["m5", "stage"] == "optimize" and "embedding failed" in by_id.loc["m5", "reasons"]
    )
    assert by_id.loc["m6", "stage"] == "parse" and by_id.loc["m6", "record"] == 6


def test_summary_counts_add_up(tables):
    counts = tables["summary"].set_index("step")["count"]
    assert counts["records_in"] == 6
    assert counts["records_in"] == counts["hits"] + counts["rejects"] + counts["duplicates_merged"]
    assert (counts["failing lipinski"], counts["failing veber"], counts["failing PAINS_A"]) == (
        1,
        1,
        1,
    )
    funnel = tables["summary"].query("section == 'funnel'")["step"].tolist()
    assert funnel == ["unique molecules", "after lipinski", "after veber", "after PAINS_A"]
    assert counts["embedding or minimization failed"] == 1


def test_counts_that_do_not_add_up_stop_the_step():
    rejects = pd.DataFrame(columns=["file", "record", "id", "input_smiles", "stage", "reasons"])
    extra = ["inchikey", "smiles", "failed_filters", "not_reached", "qed", "SAScore"]
    extra += ["all_ids", "all_records"]
    empty = pd.DataFrame(columns=[*rejects.columns, *extra])
    optimized = pd.DataFrame(columns=COLUMNS)
    counts = {"records_in": 3, "duplicates_merged": 0}
    with pytest.raises(RuntimeError, match="counts do not add up"):
        build_tables(empty, rejects, optimized, counts, [])
