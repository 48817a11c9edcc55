"""The molecules branch end to end: the tiny config, bad inputs, and start-up checks."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, run_workflow
from PIL import Image
from rdkit import Chem, RDConfig

ONLY = "only_molecules.yaml"


def override(tmp_path, molecules: dict) -> str:
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump({"molecules": molecules}))
    return str(path)


def summary_counts(workdir) -> pd.Series:
    return pd.read_csv(workdir / "results/molecules/summary.tsv", sep="\t").set_index("step")[
        "count"
    ]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """One run of the molecules branch on the tiny config (240 NCI molecules, chunks of 80)."""
    workdir = tmp_path_factory.mktemp("tiny_molecules")
    proc = run_workflow(workdir, "tiny_molecules.yaml", ONLY)
    (workdir / "console.txt").write_text(proc.stdout + proc.stderr)
    return workdir


@pytest.mark.slow
def test_tiny_config_end_to_end(tiny):
    tmp_path = tiny
    out = tmp_path / "results" / "molecules"
    example = tmp_path / "resources/molecules/first_5K.smi"
    original = Path(RDConfig.RDDataDir, "NCI", "first_5K.smi").read_bytes()
    digest = hashlib.sha256(original).hexdigest()
    assert example.read_bytes() == original
    assert (
        tmp_path / "resources/molecules/first_5K.smi.sha256"
    ).read_text() == f"{digest}  first_5K.smi\n"
    counts = summary_counts(tmp_path)
    assert counts["records_in"] == 240
    assert counts["records_in"] == counts["hits"] + counts["rejects"] + counts["duplicates_merged"]
    assert len(list((out / "work/processed").glob("*.parquet"))) == 3  # 240 records, chunks of 80
    hits = pd.read_csv(out / "hits.csv")
    assert len(hits) == counts["hits"] > 100
    assert hits["rank"].tolist() == list(range(1, len(hits) + 1))
    assert hits["score"].is_monotonic_decreasing
    assert hits["energy_kcal_mol"].notna().sum() == 3
    sdf = [m for m in Chem.SDMolSupplier(str(out / "hits_3d.sdf"), removeHs=False)]
    assert len(sdf) == 3 and all(m.GetConformer().Is3D() for m in sdf)
    assert [m.GetProp("_Name") for m in sdf] == hits["id"].astype(str).head(3).tolist()
    rejects = pd.read_csv(out / "rejects.csv")
    assert len(rejects) == counts["rejects"] and rejects["reasons"].str.len().gt(0).all()
    descriptors = pd.read_parquet(out / "descriptors.parquet")
    assert len(descriptors) == counts["unique_molecules"]
    pd.testing.assert_frame_equal(
        descriptors, pd.read_csv(out / "descriptors.csv", dtype={"id": str})
    )
    standardized = pd.read_csv(out / "standardized.csv", keep_default_na=False)
    sources = [tuple(r) for v in standardized["all_records"] for r in json.loads(v)]
    assert len(sources) == counts["standardized"] == standardized["n_records"].sum()
    traced = set(sources) | {
        (r.file, r.record) for r in rejects.itertuples() if r.stage != "screen"
    }
    assert {line for _, line in traced} == set(range(1, 241))  # every input record accounted for
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    funnel = summary[summary["section"] == "funnel"]
    assert funnel["count"].iloc[0] == counts["unique_molecules"]
    assert funnel["count"].iloc[-1] == counts["hits"] + counts["embedding or minimization failed"]
    for plot in ("descriptor_distributions", "filter_funnel", "top_hits"):
        image = out / "plots" / f"{plot}.png"
        assert image.read_bytes()[:4] == b"\x89PNG"
        assert Image.open(image).size[0] >= 400  # a drawn figure, not an empty canvas
    assert Image.open(out / "plots/top_hits.png").size == (1000, 250)  # grid_size 4: one row of 4


@pytest.mark.slow
def test_the_console_shows_the_library_count(tiny):
    """Each chunk job prints the whole library's count; locally they run one after another."""
    console = (tiny / "console.txt").read_text()
    for done in ("80 of 240 done (33.3%)", "160 of 240 done (66.7%)"):
        assert f"molecules: {done}, " in console
    assert "molecules: 240 of 240 done (100.0%), " in console and ", all done" in console
    logs = [path.read_text() for path in (tiny / "logs/molecules/mol_process").glob("*.log")]
    assert sum("molecules: 240 of 240 done (100.0%)" in text for text in logs) == 1  # the last job


@pytest.mark.slow
def test_bad_inputs_become_rejects_rows_and_the_run_goes_on(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "mixed.csv").write_text(
        "id,smiles\n"
        "acetate,CC(=O)[O-].[Na+]\n"
        "acid,CC(=O)O\n"
        "broken,C1CC\n"
        "blank,\n"
        "strained,[C@@H]12C[C@H]1C2\n"
        "paracetamol,CC(=O)Nc1ccc(O)cc1\n"
    )
    (data / "empty.smi").write_text("")
    (data / "nocolumn.tsv").write_text("name\tstructure\nx\tCCO\n")
    bad_block = "bad\n  RDKit\n\n  2  1  0  0  0  0  0  0  0  0999 V2000\ngarbage\n$$$$\n"
    good = Chem.MolFromSmiles("c1ccccc1O")
    good.SetProp("_Name", "phenol")
    (data / "records.sdf").write_text(bad_block + Chem.MolToMolBlock(good) + "$$$$\n")
    inputs = [str(data / n) for n in ("mixed.csv", "empty.smi", "nocolumn.tsv", "records.sdf")]
    config = override(tmp_path, {"inputs": inputs, "chunk_size": 3, "optimize": {"top_n": 10}})
    run_workflow(tmp_path, config, ONLY)
    rejects = pd.read_csv(tmp_path / "results/molecules/rejects.csv", keep_default_na=False)
    reason = {(r.file.rsplit("/", 1)[-1], r.record): r.reasons for r in rejects.itertuples()}
    assert reason[("mixed.csv", 4)].startswith("unparseable SMILES (syntax error)")
    assert reason[("mixed.csv", 5)] == "empty SMILES field"
    assert reason[("mixed.csv", 6)].startswith("3D embedding failed")
    assert reason[("empty.smi", 0)] == "empty file: no molecule records"
    assert reason[("nocolumn.tsv", 1)].startswith("no column 'smiles' in the header")
    assert reason[("records.sdf", 1)].startswith("unreadable SDF record")
    assert len(rejects) == 6
    hits = pd.read_csv(tmp_path / "results/molecules/hits.csv")
    assert sorted(hits["id"]) == ["acetate", "paracetamol", "phenol"]
    assert json.loads(hits.set_index("id").loc["acetate", "all_ids"]) == ["acetate", "acid"]
    counts = summary_counts(tmp_path)
    assert counts["records_in"] == 10 and counts["duplicates_merged"] == 1
    assert counts["records_in"] == counts["hits"] + counts["rejects"] + counts["duplicates_merged"]


@pytest.mark.slow
def test_input_without_any_usable_molecule_fails_clearly(tmp_path):
    bad = tmp_path / "bad.smi"
    bad.write_text("C1CC one\nC(C)(C)(C)(C)C two\n")
    proc = run_workflow(tmp_path, override(tmp_path, {"inputs": [str(bad)]}), ONLY, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "no usable molecule: all 2 input records failed parsing" in output
    assert "Traceback" not in output


def test_unknown_descriptor_fails_at_start_up_with_close_names(tmp_path):
    config = override(
        tmp_path, {"descriptors": ["MolWeight"], "filters": {"ranges": {"TSPA": {"max": 90}}}}
    )
    proc = run_workflow(tmp_path, config, ONLY, extra=["-n", "--cores", "1"], check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "molecules.descriptors" in output and "unknown RDKit descriptor 'MolWeight'" in output
    assert "did you mean MolWt" in output


def test_missing_input_file_fails_at_start_up_naming_the_key(tmp_path):
    config = override(tmp_path, {"inputs": ["resources/molecules/first_5K.smi", "nowhere/lib.sdf"]})
    proc = run_workflow(tmp_path, config, ONLY, extra=["-n", "--cores", "1"], check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "molecules.inputs[1]" in output and "nowhere/lib.sdf" in output


@pytest.mark.slow
def test_a_step_run_by_hand_gives_the_workflow_output_byte_for_byte(tiny, tmp_path):
    chunk = tiny / "results/molecules/work/chunks/0002.parquet"
    made = tiny / "results/molecules/work/processed/0002.parquet"
    by_hand = tmp_path / "0002.parquet"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts/mol_process.py"),
            "--configfile",
            str(REPO / "config.yaml"),
            "--set",
            "molecules.max_records=240",
            "--threads",
            "2",
            str(chunk),
            str(by_hand),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert by_hand.read_bytes() == made.read_bytes()
    assert len(pd.read_parquet(by_hand)) == 80


def test_disabled_branch_with_bad_settings_does_not_stop_the_run(tmp_path):
    config = tmp_path / "off.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "molecules": {
                    "enabled": False,
                    "inputs": ["no/such/library.smi"],
                    "descriptors": ["MolWeight"],
                }
            }
        )
    )
    proc = run_workflow(
        tmp_path, "only_sequences.yaml", str(config), extra=["-n", "--cores", "1"], check=False
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "mol_split" not in output and "MolWeight" not in output


@pytest.mark.slow
def test_library_of_repeated_shipped_sets_counts_traces_and_keeps_verdicts(tmp_path):
    """RDKit's NCI SMILES (400, three times with new IDs) and its SDF set, in 4 chunks: counts add
    up, every input ID is found again, and each copy gets its original's verdict."""
    from medflow.molecules.pipeline import Worker

    nci = Path(RDConfig.RDDataDir, "NCI")
    rows = [line.split() for line in (nci / "first_5K.smi").read_text().splitlines()][:400]
    library = tmp_path / "library.smi"
    library.write_text(
        "".join(f"{smi} {name}_r{copy}\n" for copy in range(3) for smi, name in rows)
    )
    sdf = str(nci / "first_200.props.sdf")
    config = override(
        tmp_path,
        {
            "inputs": [str(library), sdf],
            "chunk_size": 400,
            "optimize": {"top_n": 2, "conformers": 1, "max_iterations": 50},
        },
    )
    run_workflow(tmp_path, config, ONLY)
    out = tmp_path / "results/molecules"
    counts = summary_counts(tmp_path)
    sdf_records = sum(1 for m in Chem.SDMolSupplier(sdf, sanitize=False))
    assert counts["records_in"] == 1200 + sdf_records
    assert counts["records_in"] == counts["hits"] + counts["rejects"] + counts["duplicates_merged"]
    assert len(list((out / "work/processed").glob("*.parquet"))) == 4

    standardized = pd.read_csv(out / "standardized.csv", keep_default_na=False)
    rejects = pd.read_csv(out / "rejects.csv", keep_default_na=False, dtype={"id": str})
    failed = rejects[rejects["stage"].isin(["input", "parse", "standardize", "descriptors"])]
    key_of = {
        name: key
        for key, ids in zip(standardized["inchikey"], standardized["all_ids"], strict=True)
        for name in json.loads(ids)
    }
    smi_ids = [f"{name}_r{copy}" for copy in range(3) for _, name in rows]
    traced = sorted([*key_of, *failed["id"]])
    assert len(traced) == counts["records_in"]
    assert set(smi_ids) <= set(traced)

    screened = pd.read_parquet(out / "work/screened.parquet").set_index("inchikey")["stage"]
    hits = set(pd.read_csv(out / "hits.csv")["inchikey"])
    assert hits <= set(screened[screened == ""].index)
    worker = Worker(
        {"tautomer": False, "descriptors": [], "filters": _default_filters(), "early_exit": False}
    )
    failed_ids = set(failed["id"])
    for smi, name in rows:
        alone = worker(smi)["stage"]
        for copy in range(3):
            record = f"{name}_r{copy}"
            if record in failed_ids:
                assert alone in {"parse", "standardize", "descriptors"}, record
            else:
                assert screened[key_of[record]] == alone, (record, alone)


def _default_filters() -> dict:
    from medflow.config import fill_and_validate

    return fill_and_validate({})["molecules"]["filters"]
