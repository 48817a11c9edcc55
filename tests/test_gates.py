"""Quality gates: lint, format, a dry run reaching every branch, config checked at start-up."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from conftest import BIN, REPO, snakemake_cmd

from medflow.step import parse_ports, script_docstring

BRANCHES = ("molecules", "sequences", "imaging")


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, **kwargs)


def rule_names(smk_file: str) -> list[str]:
    text = (REPO / "workflow" / "rules" / smk_file).read_text()
    return re.findall(r"^(?:rule|checkpoint) (\w+):", text, flags=re.MULTILINE)


def test_ruff_is_clean():
    proc = run([str(BIN / "ruff"), "check", "."])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean():
    proc = run([str(BIN / "ruff"), "format", "--check", "."])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_is_clean():
    proc = run([str(BIN / "snakefmt"), "--check", "Snakefile", "workflow"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakemake_lint_is_clean():
    proc = run([str(BIN / "snakemake"), "--lint", "--cores", "1"])
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Lints for" not in output, output


def test_dry_run_of_default_config_lists_every_branch(tmp_path):
    proc = run(snakemake_cmd(tmp_path, extra=["-n", "--cores", "2", "--quiet", "rules"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for branch in BRANCHES:
        rules = rule_names(f"{branch}.smk")
        assert rules, f"workflow/rules/{branch}.smk defines no rule"
        planned = [name for name in rules if re.search(rf"\b{name}\b", proc.stdout)]
        assert planned, f"the dry run plans no job of the {branch} branch:\n{proc.stdout}"


RULE_FILES = sorted(p.name for p in (REPO / "workflow" / "rules").glob("*.smk"))
STEP_SCRIPTS = sorted((REPO / "scripts").glob("*.py"))


def rule_blocks(smk_file: str) -> list[tuple[str, str]]:
    text = (REPO / "workflow" / "rules" / smk_file).read_text()
    blocks = re.split(r"^(?=(?:rule|checkpoint) \w+:)", text, flags=re.MULTILINE)[1:]
    return [(block.split(":", 1)[0].split()[-1], block) for block in blocks]


def test_helpers_live_in_common_and_rules_in_the_branch_files():
    assert not rule_blocks("common.smk"), "common.smk holds helpers only"
    for smk_file in RULE_FILES:
        if smk_file != "common.smk":
            assert rule_blocks(smk_file), f"{smk_file} defines no rule"


@pytest.mark.parametrize("smk_file", [f for f in RULE_FILES if f != "common.smk"])
def test_every_rule_declares_log_benchmark_conda_and_settings(smk_file):
    for name, block in rule_blocks(smk_file):
        for directive in ("log:", "benchmark:", "conda:"):
            assert f"    {directive}" in block, f"rule {name} in {smk_file} lacks {directive}"
        if "    script:" in block and "get_settings(" not in block:
            # a step that reads no setting declares none; one that does must pass them as params
            script = re.search(r'script:\s*\n\s*"([^"]+)"', block)[1]
            text = (REPO / "workflow" / "rules" / script).resolve().read_text()
            declaration = re.search(r"^STEP = Step\(.*?^\S", text, flags=re.MULTILINE | re.DOTALL)
            assert "settings=" not in declaration[0], (
                f"rule {name} runs a step that reads settings but passes no get_settings(...)"
            )


@pytest.mark.parametrize("script", STEP_SCRIPTS, ids=lambda p: p.name)
def test_step_scripts_are_thin_entry_points(script):
    """One interface per step (medflow.step), no step importing another, no assert as a check."""
    text = script.read_text()
    assert re.search(r"^STEP = Step\(\s*__file__", text, flags=re.MULTILINE), (
        f"{script.name}: no STEP"
    )
    assert "STEP.run(main" in text, f"{script.name}: does not run main through STEP"
    ports = parse_ports(script_docstring(script), where=script.name)
    assert ports["outputs"], f"{script.name}: its docstring names no Outputs"
    assert "def build_parser" not in text and "def from_snakemake" not in text, script.name
    others = {p.stem for p in STEP_SCRIPTS} - {script.stem}
    imported = set(re.findall(r"^(?:from|import) (\w+)", text, flags=re.MULTILINE))
    assert not imported & others, f"{script.name} imports the step(s) {imported & others}"
    assert not re.search(r"^\s+assert ", text, flags=re.MULTILINE), f"{script.name} uses assert"


def bad_config_run(tmp_path, override: dict) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(override))
    proc = run(snakemake_cmd(tmp_path, path, extra=["-n", "--cores", "1"]))
    assert proc.returncode != 0, "a bad config was accepted"
    output = proc.stdout + proc.stderr
    # medflow's message alone: no file, line and call stack of the raise under it
    assert "medflow: " in output and 'File "' not in output and "Traceback" not in output, output
    return output


def test_unknown_key_fails_naming_it(tmp_path):
    output = bad_config_run(tmp_path, {"molecules": {"chunk_sise": 10}})
    assert "chunk_sise" in output


def test_wrong_type_fails_naming_the_key(tmp_path):
    output = bad_config_run(tmp_path, {"seed": "forty-two"})
    assert "seed" in output and "forty-two" in output


def test_unknown_top_level_key_fails_naming_it(tmp_path):
    output = bad_config_run(tmp_path, {"imagin": {"enabled": False}})
    assert "imagin" in output


def test_missing_input_file_fails_naming_key_and_path(tmp_path):
    output = bad_config_run(tmp_path, {"molecules": {"inputs": ["no/such/library.smi"]}})
    assert "molecules.inputs[0]" in output and "no/such/library.smi" in output


@pytest.mark.parametrize(("key", "name"), [("molecules", "inputs"), ("sequences", "fasta")])
def test_a_file_listed_twice_stops_the_run_before_any_job(tmp_path, key, name):
    data = tmp_path / ("lib.smi" if key == "molecules" else "seqs.fa")
    data.write_text("CCO a\n" if key == "molecules" else ">a\nMKVLAAGIEEW\n")
    output = bad_config_run(tmp_path, {key: {name: [str(data), str(tmp_path / "." / data.name)]}})
    assert f"{key}.{name} lists the same file twice" in output


def test_braces_in_an_input_path_stop_the_run_naming_the_key(tmp_path):
    data = tmp_path / "fam{x}.fa"
    data.write_text(">a\nMKVLAAGIEEW\n")
    output = bad_config_run(tmp_path, {"sequences": {"fasta": [str(data)]}})
    assert "config key 'sequences.fasta[0]'" in output and "'{x}'" in output
    assert "Rename the file" in output and "cannot be determined" not in output


def test_braces_in_an_image_file_name_stop_the_run_naming_the_file(tmp_path):
    folder = tmp_path / "images"
    for cls in ("a", "b"):
        (folder / cls).mkdir(parents=True)
        (folder / cls / "0.png").write_bytes(b"not read by a dry run")
    (folder / "a" / "img {1}.png").write_bytes(b"")
    override = {
        "molecules": {"enabled": False},
        "sequences": {"enabled": False},
        "imaging": {"input": {"format": "folder", "folder": str(folder)}},
    }
    output = bad_config_run(tmp_path, override)
    assert "imaging.input.folder" in output and "img {1}.png" in output
    assert "Rename the file" in output and "cannot be determined" not in output
    assert "InputFunctionException" not in output  # stopped by the start-up checks


def test_a_range_whose_min_is_above_its_max_stops_the_run(tmp_path):
    output = bad_config_run(
        tmp_path, {"molecules": {"filters": {"ranges": {"MolWt": {"min": 500, "max": 100}}}}}
    )
    assert "molecules.filters.ranges.MolWt" in output and "min 500 is above max 100" in output


@pytest.mark.parametrize(
    ("override", "said"),
    [
        (
            {"imaging": {"input": {"format": "npz", "npz": "{tmp}"}}},
            "which is a folder; it needs a file",
        ),
        ({"imaging": {"predict": {"images": "{tmp}/f.txt"}}}, "which is a file; it needs a folder"),
        ({"sequences": {"fasta": ["{tmp}"]}}, "which is a folder; it needs a file"),
        (
            {"imaging": {"predict": {"images": "{tmp}/absent"}}},
            "names the input folder '{tmp}/absent', which does not exist",
        ),
    ],
)
def test_a_folder_where_a_file_is_needed_stops_the_run_at_start_up(tmp_path, override, said):
    (tmp_path / "f.txt").write_text("x")
    text = (
        yaml.safe_dump(override).replace("'{tmp}", f"'{tmp_path}").replace("{tmp}", str(tmp_path))
    )
    output = bad_config_run(tmp_path, yaml.safe_load(text))
    assert said.replace("{tmp}", str(tmp_path)) in output


def test_a_key_given_twice_in_a_config_file_stops_the_run_naming_both_lines(tmp_path):
    # PyYAML keeps the last of two keys silently: the first section's settings would be dropped
    path = tmp_path / "twice.yaml"
    path.write_text(
        "sequences:\n  enabled: false\nimaging:\n  enabled: false\nsequences:\n  fasta: []\n"
    )
    proc = run(snakemake_cmd(tmp_path, path, extra=["-n", "--cores", "1"]))
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert f"config file '{path}', line 5: key 'sequences' is given a second time" in output
    assert "first on line 1" in output


@pytest.mark.parametrize("fmt", ["folder", "npz"])
def test_a_positive_class_the_input_lacks_stops_the_run_before_training(tmp_path, fmt):
    import numpy as np
    from PIL import Image

    if fmt == "folder":
        for name in ("normal", "sick"):
            (tmp_path / "imgs" / name).mkdir(parents=True)
            Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "imgs" / name / "a.png")
        source, classes = {"folder": str(tmp_path / "imgs")}, "['normal', 'sick']"
    else:
        splits = ("train", "val", "test")
        arrays = {f"{s}_images": np.zeros((2, 8, 8), np.uint8) for s in splits}
        arrays |= {f"{s}_labels": np.array([0, 1]) for s in splits}
        np.savez(tmp_path / "m.npz", **arrays)
        source, classes = {"npz": str(tmp_path / "m.npz")}, "['0', '1']"
    imaging = {"input": {"format": fmt, **source}, "predict": {"images": ""}}
    imaging["evaluate"] = {"positive_class": "Sick"}
    off = {"enabled": False}
    output = bad_config_run(tmp_path, {"imaging": imaging, "sequences": off, "molecules": off})
    said = "'imaging.evaluate.positive_class' is 'Sick', which is not one of the input's classes"
    assert f"{said} {classes}" in output


def test_a_broken_link_among_the_images_is_left_to_the_steps_rejects(tmp_path):
    # it used to be a rule input, and Snakemake stopped the run: "Missing input files"
    import os

    import numpy as np
    from PIL import Image

    for folder in ("imgs/normal", "imgs/sick", "new"):
        (tmp_path / folder).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / folder / "a.png")
        os.symlink(tmp_path / "nowhere.png", tmp_path / folder / "gone.png")
    imaging = {"input": {"format": "folder", "folder": str(tmp_path / "imgs")}}
    imaging["predict"] = {"images": str(tmp_path / "new")}
    off = {"enabled": False}
    path = tmp_path / "links.yaml"
    path.write_text(yaml.safe_dump({"imaging": imaging, "sequences": off, "molecules": off}))
    proc = run(snakemake_cmd(tmp_path, path, extra=["-n", "--cores", "1"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "img_preprocess" in proc.stdout and "img_predict" in proc.stdout


def test_an_alignment_setting_that_would_fail_in_the_alignment_stops_the_run_at_start_up(
    tmp_path,
):
    off = {"enabled": False}
    sequences = {"alignment": {"matrix": "GONNET1992"}}  # not integer: pyopal cannot use it
    output = bad_config_run(tmp_path, {"sequences": sequences, "molecules": off, "imaging": off})
    assert "config key 'sequences.alignment': pyopal needs an integer matrix" in output


def test_settings_without_effect_are_named_at_start_up(tmp_path):
    import numpy as np

    splits = ("train", "val", "test")
    arrays = {f"{s}_images": np.zeros((3, 8, 8), np.uint8) for s in splits}
    arrays |= {f"{s}_labels": np.array([0, 1, 2]) for s in splits}
    np.savez(tmp_path / "m.npz", **arrays)
    imaging = {
        "input": {"format": "npz", "npz": str(tmp_path / "m.npz")},
        "predict": {"images": ""},
        "evaluate": {"threshold": 0.3},  # three classes: argmax decides
        "train": {"members": 4},  # cross-fitting by default: one member per fold
    }
    path = tmp_path / "quiet.yaml"
    path.write_text(yaml.safe_dump({"imaging": imaging, "molecules": {"enabled": False}}))
    proc = run(snakemake_cmd(tmp_path, path, extra=["-n", "--cores", "1"]))
    assert proc.returncode == 0, proc.stderr
    output = proc.stdout + proc.stderr
    assert "config key 'imaging.train.members' is 4, but it is used only with" in output
    assert "'imaging.evaluate.threshold' is 0.3, but it is used only with two classes" in output
