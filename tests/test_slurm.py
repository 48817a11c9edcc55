"""medflow through a real SLURM cluster (tests/slurm_cluster.py starts a one-machine one).

Every non-local job must run as a SLURM job; the results must be byte-identical to a local run;
a job that fails once is retried with more memory; an interrupted run resumes without redoing
finished jobs. The cluster's quirks live in tests/profiles/slurm-test, never in profiles/slurm.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import BIN, CONFIGS, REPO, SNAKEMAKE, TINY_CONFIGS, snakemake_cmd

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

TEST_PROFILE = REPO / "tests" / "profiles" / "slurm-test"
USER_PROFILE = REPO / "profiles" / "slurm"
TOY_SNAKEFILE = REPO / "tests" / "slurm_workflow" / "Snakefile"
SUBMITTED = re.compile(r"^Job (\d+) has been submitted with SLURM jobid (\d+)", re.MULTILINE)
REMOTE_RULE = re.compile(r"^rule (\w+):$", re.MULTILINE)
# --show-failed-logs copies a failed job's SLURM log, framed by lines of "=", into Snakemake's own.
EMBEDDED_LOG = re.compile(r"^={40,}$.*?^={40,}$", re.MULTILINE | re.DOTALL)
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$", re.MULTILINE)
# Made by other tests in the shared local run (the HTML report), not by `rule all`.
NOT_COMPARED = ("results/report.html",)


def env() -> dict[str, str]:
    """The environment for Snakemake and its SLURM jobs: the venv's programs first in PATH."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


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


def run(cmd: list[str], timeout: int = 900) -> subprocess.CompletedProcess:
    """Run Snakemake; on failure the test report shows its output."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(
            f"snakemake exited {proc.returncode}\n--- stdout ---\n{proc.stdout[-4000:]}"
            f"\n--- stderr ---\n{proc.stderr[-12000:]}"
        )
    return proc


def slurm_jobs(workdir: Path) -> dict[str, dict[str, str]]:
    """Every SLURM job (any state) whose working directory is `workdir`, by job id."""
    proc = subprocess.run(
        ["squeue", "--noheader", "--states=all", "--format=%i|%T|%m|%C|%Z|%k"],
        capture_output=True,
        text=True,
        check=True,
    )
    jobs = {}
    for line in proc.stdout.splitlines():
        job_id, state, memory, cpus, job_dir, comment = line.strip().split("|", 5)
        if Path(job_dir) == workdir:
            jobs[job_id] = {"state": state, "memory": memory, "cpus": cpus, "comment": comment}
    return jobs


def assert_every_remote_job_ran_in_slurm(log: str, workdir: Path) -> dict[str, dict[str, str]]:
    """Each non-local job in Snakemake's log was submitted to SLURM, and SLURM knows it."""
    log = EMBEDDED_LOG.sub("", log)
    remote_rules = REMOTE_RULE.findall(log)
    submitted = SUBMITTED.findall(log)
    assert remote_rules, "Snakemake ran no job through SLURM"
    assert len(submitted) == len(remote_rules), (
        f"{len(remote_rules)} non-local jobs but {len(submitted)} SLURM submissions:\n{log[-4000:]}"
    )
    jobs = slurm_jobs(workdir)
    slurm_ids = {slurm_id for _, slurm_id in submitted}
    assert slurm_ids <= jobs.keys(), f"SLURM does not know jobs {sorted(slurm_ids - jobs.keys())}"
    return {slurm_id: jobs[slurm_id] for slurm_id in slurm_ids}


def finished_outputs(log: str, rule: str) -> set[str]:
    """Outputs of the jobs of `rule` that Snakemake's log reports as finished."""
    blocks = re.findall(rf"^rule {rule}:\n    output: (\S+)\n    jobid: (\d+)$", log, re.M)
    output_of = {job_id: output for output, job_id in blocks}
    return {output_of[job_id] for job_id, name in FINISHED.findall(log) if name == rule}


def cancel_jobs_of(workdir: Path) -> None:
    """scancel whatever SLURM still holds for `workdir` (after Snakemake was interrupted)."""
    live = [i for i, job in slurm_jobs(workdir).items() if job["state"] in {"PENDING", "RUNNING"}]
    if live:
        subprocess.run(["scancel", *live], check=False)
    deadline = time.monotonic() + 30
    while any(
        job["state"] in {"PENDING", "RUNNING", "COMPLETING"} for job in slurm_jobs(workdir).values()
    ):
        assert time.monotonic() < deadline, f"SLURM jobs of {workdir} outlived scancel by 30 s"
        time.sleep(0.5)


# --- the user profile (no cluster needed) ----------------------------------------------------------


def workflow_rules() -> set[str]:
    """The names of all rules of medflow on the tiny configs."""
    configs = [c for c in TINY_CONFIGS if (CONFIGS / c).exists()]
    cmd = snakemake_cmd(REPO, *configs, extra=["--list-rules"])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env(), check=True)
    return set(proc.stdout.split())


def test_user_profile_names_real_rules_and_scales_memory_with_attempt():
    profile = yaml.safe_load((USER_PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert {"slurm_account", "slurm_partition"} <= profile["default-resources"].keys()
    rules = workflow_rules()
    unknown = set(profile.get("set-resources", {})) - rules
    assert not unknown, f"profiles/slurm sets resources for rules medflow does not have: {unknown}"
    for rule, resources in profile.get("set-resources", {}).items():
        assert "attempt" in str(resources.get("mem_mb", "attempt")), (
            f"profiles/slurm: {rule}.mem_mb does not grow with attempt, so --retries cannot help"
        )


# --- retries and interruption, on the toy workflow -----------------------------------------------


def test_failed_job_is_retried_through_slurm_with_more_memory(slurm_cluster, tmp_path):
    proc = run(toy_cmd(tmp_path, "--retries", "1", "--config", "n_chunks=2"))
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


def test_interrupted_run_resumes_without_redoing_finished_jobs(slurm_cluster, tmp_path):
    config = ["--config", "n_chunks=4", "slow_from=2", "slow_seconds=15"]
    first_log = tmp_path / "first.log"
    with first_log.open("w") as handle:
        proc = subprocess.Popen(
            toy_cmd(tmp_path, "--retries", "1", *config),
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env(),
        )
    try:
        deadline = time.monotonic() + 120
        while not re.search(r"\(Rule: chunk\)", first_log.read_text()):
            assert proc.poll() is None, f"snakemake ended early:\n{first_log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, "no chunk job finished within 120 s"
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
    assert finished_before, "no chunk was complete when the run was interrupted"
    assert len(finished_before) < 4, "every chunk finished before the interruption; no test"
    stamps = {path: (tmp_path / path).stat().st_mtime_ns for path in finished_before}

    rerun = run(toy_cmd(tmp_path, "--retries", "1", *config))
    assert_every_remote_job_ran_in_slurm(rerun.stderr, tmp_path)
    redone = set(re.findall(r"output: (chunks/\d+\.txt)", rerun.stderr))
    assert not redone & finished_before, f"the rerun recomputed finished chunks {redone}"
    assert redone == {f"chunks/{i}.txt" for i in range(4)} - finished_before
    assert {path: (tmp_path / path).stat().st_mtime_ns for path in finished_before} == stamps
    assert (tmp_path / "gathered.txt").is_file()
