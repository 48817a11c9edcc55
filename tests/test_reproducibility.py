"""Reruns: byte-identical results, the report, and config changes that rerun only their jobs."""

import re
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, TINY_CONFIGS, result_checksums, run_workflow

README = REPO / "README.md"

pytestmark = pytest.mark.slow


def test_a_rerun_from_the_provenance_config_gives_byte_identical_results(tiny_run, tmp_path):
    """The README's recipe for rerunning a published analysis, word for word: the config as run,
    taken from provenance.json with the standard library alone (a fresh machine's python3 has
    no yaml), is the only config given to a clean run in another folder."""
    published, rerun = tmp_path / "published", tmp_path / "rerun"
    (published / "results").mkdir(parents=True)
    shutil.copy(tiny_run / "results" / "provenance.json", published / "results")
    recipe = (
        'import json; json.dump(json.load(open("results/provenance.json"))["config"],'
        ' open("rerun.json", "w"))'
    )
    assert recipe in README.read_text(), "the README's rerun recipe changed: update this test"
    # -S: without site-packages, as python3 is on a fresh machine
    subprocess.run([sys.executable, "-I", "-S", "-c", recipe], cwd=published, check=True)
    run_workflow(rerun, published / "rerun.json")
    first, second = result_checksums(tiny_run), result_checksums(rerun)
    assert len(first) > 20, f"the tiny run wrote too few results: {sorted(first)}"
    assert first.keys() == second.keys()
    differing = [path for path in first if first[path] != second[path]]
    assert not differing, f"these results differ in a rerun from provenance.json: {differing}"


def test_every_branch_and_the_provenance_record_are_in_results(tiny_run):
    results = tiny_run / "results"
    for branch in ("molecules", "sequences", "imaging"):
        assert any((results / branch).rglob("*")), f"no results for {branch}"
    assert (results / "provenance.json").is_file()


def planned_rules(workdir, override: dict | None, tmp_path) -> set[str]:
    configs = list(TINY_CONFIGS)
    if override:
        path = tmp_path / "override.yaml"
        path.write_text(yaml.safe_dump(override))
        configs.append(str(path))
    proc = run_workflow(workdir, *configs, extra=["-n", "--cores", "2", "--quiet", "rules"])
    rows = re.findall(r"^(\w+)\s+\d+$", proc.stdout, flags=re.MULTILINE)
    return {rule for rule in rows if rule not in ("total", "job")}


def test_nothing_to_do_after_a_complete_run(tiny_run, tmp_path):
    assert planned_rules(tiny_run, None, tmp_path) == set()


def test_changing_one_branch_parameter_reruns_only_that_branch(tiny_run, tmp_path):
    override = {"sequences": {"clustering": {"linkage": "complete"}}}
    rules = planned_rules(tiny_run, override, tmp_path)
    assert rules, "changing the linkage planned no job"
    branchless = {"all", "provenance", "report_front_page"}
    assert all(rule.startswith("seq_") or rule in branchless for rule in rules), rules
