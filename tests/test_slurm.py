"""medflow through a real SLURM cluster (tests/slurm_cluster.py starts a one-machine one).

Every non-local job must run as a SLURM job; the results must be byte-identical to a local run;
a job that fails once is retried with more memory; an interrupted run resumes without redoing
finished jobs. The cluster's quirks live in tests/profiles/slurm-test, never in profiles/slurm.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import (
    CONFIGS,
    REPO,
    SNAKEMAKE,
    TINY_CONFIGS,
    result_checksums,
    run_workflow,
    snakemake_cmd,
)
from slurm_jobs import (
    TEST_PROFILE,
    assert_every_remote_job_ran_in_slurm,
    cancel_jobs_of,
    env,
    finished_outputs,
    planned_jobs,
    run_snakemake,
    slurm_jobs,
)

USER_PROFILE = REPO / "profiles" / "slurm"
TOY_SNAKEFILE = REPO / "tests" / "slurm_workflow" / "Snakefile"
# Made by other tests in the shared local run (the HTML report), not by `rule all`.
NOT_COMPARED = ("results/report.html",)


def toy_cmd(workdir: Path, *extra: str) -> list[str]:
    """Run the toy workflow (tests/slurm_workflow) in `workdir` through the test profile."""
    return [
        SNAKEMAKE,
        "--snakefile",
        str(TOY_SNAKEFILE),
        "--directory",
        str(workdir),
        "--profile",
        str(TEST_PROFILE),
        *extra,
    ]


# --- the user profile (no cluster needed) ----------------------------------------------------------


def workflow_rules() -> set[str]:
    """The names of all rules of medflow on the tiny configs."""
    configs = [c for c in TINY_CONFIGS if (CONFIGS / c).exists()]
    cmd = snakemake_cmd(REPO, *configs, extra=["--list-rules"])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env(), check=True)
    return set(proc.stdout.split())


def test_no_profile_prints_shell_commands_which_the_script_rules_do_not_have():
    """Every rule runs a script, so printshellcmds printed 'Shell command: None' once per job."""
    rules_text = "".join(path.read_text() for path in (REPO / "workflow" / "rules").glob("*.smk"))
    assert not re.search(r"^\s+shell:", rules_text, flags=re.MULTILINE)
    for profile in [REPO / "profiles" / "local", USER_PROFILE, REPO / "tests/profiles/slurm-test"]:
        config = yaml.safe_load((profile / "config.yaml").read_text())
        assert not config.get("printshellcmds"), f"{profile} prints shell commands"


def test_user_profile_names_real_rules_and_scales_memory_with_attempt():
    profile = yaml.safe_load((USER_PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert {"slurm_account", "slurm_partition"} <= profile["default-resources"].keys()
    rules = workflow_rules()
    unknown = set(profile.get("set-resources", {})) - rules
    assert not unknown, f"profiles/slurm sets resources for rules medflow does not have: {unknown}"
    for rule, resources in profile.get("set-resources", {}).items():
        assert "mem_mb" in resources, f"profiles/slurm: {rule} sets resources but no mem_mb"
        assert "attempt" in str(resources["mem_mb"]), (
            f"profiles/slurm: {rule}.mem_mb does not grow with attempt, so --retries cannot help"
        )


# --- the whole workflow -------------------------------------------------------------------------


def comparable(checksums: dict[str, str], workdir: Path) -> dict[str, str]:
    """Checksums, with the git commit left out (provenance.json, the front page): other work may
    commit in between."""
    out = {path: digest for path, digest in checksums.items() if path not in NOT_COMPARED}
    provenance = workdir / "results" / "provenance.json"
    if provenance.is_file():
        record = json.loads(provenance.read_text())
        record.get("medflow", {}).pop("git_commit", None)
        record.get("medflow", {}).pop("git_dirty", None)
        out["results/provenance.json"] = json.dumps(record, sort_keys=True)
    page = workdir / "results" / "report" / "front_page.html"
    if page.is_file():  # the front page names the commit too
        row = re.sub(r"<th>medflow</th><td>[^<]*</td>", "", page.read_text())
        out["results/report/front_page.html"] = row
    return out


@pytest.fixture(scope="module")
def tiny_configs(tmp_path_factory) -> list[str]:
    """The tiny configs that exist, plus an override switching off branches that have none."""
    present = [c for c in TINY_CONFIGS if (CONFIGS / c).exists()]
    missing = [
        c.removeprefix("tiny_").removesuffix(".yaml") for c in TINY_CONFIGS if c not in present
    ]
    if not missing:
        return present
    override = tmp_path_factory.mktemp("slurm_configs") / "no_missing_branches.yaml"
    override.write_text(yaml.safe_dump({branch: {"enabled": False} for branch in missing}))
    return [*present, str(override)]


@pytest.fixture(scope="module")
def local_reference(request, tiny_configs, tmp_path_factory) -> Path:
    """A local run of the same configs: the session's shared tiny run when all three exist."""
    if list(tiny_configs) == list(TINY_CONFIGS):
        return request.getfixturevalue("tiny_run")
    workdir = tmp_path_factory.mktemp("local_reference")
    run_workflow(workdir, *tiny_configs)
    return workdir


@pytest.mark.slurm
@pytest.mark.slow
def test_whole_workflow_runs_through_slurm_with_identical_results(
    slurm_cluster, tiny_configs, local_reference, tmp_path
):
    cmd = snakemake_cmd(tmp_path, *tiny_configs, extra=["--profile", str(TEST_PROFILE)])
    proc = run_snakemake(cmd, timeout=1800)
    jobs = assert_every_remote_job_ran_in_slurm(proc.stderr, tmp_path)
    failed = {i: job for i, job in jobs.items() if job["state"] != "COMPLETED"}
    assert not failed, f"SLURM jobs that did not complete: {failed}"
    per_rule: dict[str, int] = {}
    for rule, local in planned_jobs(proc.stderr).values():
        if not local:
            per_rule[rule] = per_rule.get(rule, 0) + 1
    scattered = {rule for rule, count in per_rule.items() if count > 1}
    assert scattered, f"no rule ran as several SLURM jobs (no scatter-gather seen): {per_rule}"

    slurm_sums = comparable(result_checksums(tmp_path), tmp_path)
    local_sums = comparable(result_checksums(local_reference), local_reference)
    assert len(slurm_sums) > 5, f"the SLURM run wrote too few results: {sorted(slurm_sums)}"
    assert slurm_sums.keys() == local_sums.keys(), (
        f"only local: {sorted(local_sums.keys() - slurm_sums.keys())}, "
        f"only SLURM: {sorted(slurm_sums.keys() - local_sums.keys())}"
    )
    differing = sorted(path for path in slurm_sums if slurm_sums[path] != local_sums[path])
    assert not differing, f"results that differ between the SLURM and the local run: {differing}"
    again = run_snakemake([*cmd, "--dry-run"])
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]


def test_user_profile_resources_reach_the_jobs(tiny_configs, tmp_path):
    """A dry run with profiles/slurm: its account, partition and per-rule memory land on the jobs."""
    profile = yaml.safe_load((USER_PROFILE / "config.yaml").read_text())
    cmd = snakemake_cmd(tmp_path, *tiny_configs, extra=["--profile", str(USER_PROFILE), "-n"])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    jobs = re.findall(r"^(?:rule|checkpoint) (\w+):\n((?:    .*\n)*)", proc.stdout, re.MULTILINE)
    assert jobs, f"the dry run planned no SLURM job:\n{proc.stdout[-3000:]}"
    account = profile["default-resources"]["slurm_account"]
    partition = profile["default-resources"]["slurm_partition"]
    checked = 0
    for rule, body in jobs:
        assert f"slurm_account={account}" in body and f"slurm_partition={partition}" in body, body
        expression = str(profile["set-resources"].get(rule, {}).get("mem_mb", ""))
        if expression and "input" not in expression:
            expected = eval(expression, {"attempt": 1})
            assert f"mem_mb={expected}," in body, f"{rule}: profile asks {expected} MB:\n{body}"
            checked += 1
    assert checked, "no rule in the dry run has a fixed mem_mb in profiles/slurm to check"


# --- retries and interruption, on the toy workflow -----------------------------------------------


@pytest.mark.slurm
@pytest.mark.slow
def test_failed_job_is_retried_through_slurm_with_more_memory(slurm_cluster, tmp_path):
    proc = run_snakemake(toy_cmd(tmp_path, "--retries", "1", "--config", "n_chunks=2"))
    log = proc.stderr
    jobs = assert_every_remote_job_ran_in_slurm(log, tmp_path)
    attempts = (tmp_path / "flaky.txt").read_text().splitlines()
    assert [line.split()[0] for line in attempts] == ["attempt=1", "attempt=2"]
    first_id, second_id = (re.search(r"slurm_job=(\d+)", line).group(1) for line in attempts)
    assert first_id != second_id, "the retry did not go through a new SLURM job"
    assert jobs[first_id]["state"] == "FAILED"
    assert jobs[second_id]["state"] == "COMPLETED"
    # scaled_mem_mb(200) from common.smk: attempt 2 asks SLURM for twice the memory
    assert (jobs[first_id]["memory"], jobs[second_id]["memory"]) == ("200M", "400M")
    assert all(job["state"] == "COMPLETED" for i, job in jobs.items() if i != first_id)
    assert (tmp_path / "gathered.txt").is_file()


def interruptible() -> None:
    """In the child before Snakemake starts: Ctrl-C (SIGINT) back to its default action.

    A test suite started in the background of a non-interactive shell (`nohup make test &`)
    inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler: the SIGINT
    below would do nothing and the test would wait out its timeout.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slurm
@pytest.mark.slow
def test_interrupted_run_resumes_without_redoing_finished_jobs(slurm_cluster, tmp_path):
    # chunks 2 and 3 start after chunk 0, then wait for a file `release` made after the interruption
    config = ["--config", "n_chunks=4", "hold_from=2"]
    first_log = tmp_path / "first.log"
    with first_log.open("w") as handle:
        proc = subprocess.Popen(
            toy_cmd(tmp_path, "--retries", "1", *config),
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env(),
            preexec_fn=interruptible,
        )
    try:
        deadline = time.monotonic() + 180
        while not (
            finished_outputs(first_log.read_text(), "chunk")
            and any(
                job["state"] == "RUNNING" and job["comment"].startswith("rule_chunk_wildcards_2")
                for job in slurm_jobs(tmp_path).values()
            )
        ):
            assert proc.poll() is None, f"snakemake ended early:\n{first_log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, (
                f"no halfway point in 180 s:\n{first_log.read_text()}"
            )
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    cancel_jobs_of(tmp_path)
    log = first_log.read_text()
    assert proc.returncode != 0, f"the interrupted run claims success:\n{log[-3000:]}"
    finished_before = finished_outputs(log, "chunk")
    assert "chunks/0.txt" in finished_before
    assert not finished_before & {"chunks/2.txt", "chunks/3.txt"}, finished_before
    states = {job["comment"]: job["state"] for job in slurm_jobs(tmp_path).values()}
    assert states["rule_chunk_wildcards_2"] == "CANCELLED", states
    # chunk 1 is not held: on a loaded machine it can finish while the interrupted run shuts
    # down, after the log's last "Finished" line; it is then done, and must not be redone either
    chunks = {f"chunks/{i}.txt" for i in range(4)}
    done = {path for path in chunks if (tmp_path / path).is_file()}
    assert finished_before <= done and not done & {"chunks/2.txt", "chunks/3.txt"}, done
    stamps = {path: (tmp_path / path).stat().st_mtime_ns for path in done}
    (tmp_path / "release").touch()

    rerun = run_snakemake(toy_cmd(tmp_path, "--retries", "1", *config))
    assert_every_remote_job_ran_in_slurm(rerun.stderr, tmp_path)
    redone = set(re.findall(r"output: (chunks/\d+\.txt)", rerun.stderr))
    assert not redone & done, f"the rerun recomputed finished chunks {redone}"
    assert redone == chunks - done
    assert {path: (tmp_path / path).stat().st_mtime_ns for path in done} == stamps
    assert (tmp_path / "gathered.txt").is_file()
