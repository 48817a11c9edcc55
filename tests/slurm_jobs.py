"""Running Snakemake through the test cluster and checking what SLURM ran (for the SLURM tests)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import BIN, REPO

TEST_PROFILE = REPO / "tests" / "profiles" / "slurm-test"
SUBMITTED = re.compile(r"^Job (\d+) has been submitted with SLURM jobid (\d+)", re.MULTILINE)
JOB_HEADER = re.compile(r"^(local)?(?:rule|checkpoint) (\w+):\n((?:    .*\n)*)", re.MULTILINE)
# --show-failed-logs copies a failed job's SLURM log, framed by lines of "=", into Snakemake's own.
EMBEDDED_LOG = re.compile(r"^={40,}$.*?^={40,}$", re.MULTILINE | re.DOTALL)
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$", re.MULTILINE)


def env() -> dict[str, str]:
    """The environment for Snakemake and its SLURM jobs: the venv's programs first in PATH."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def run_snakemake(cmd: list[str], timeout: int = 900) -> subprocess.CompletedProcess:
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


def planned_jobs(log: str) -> dict[str, tuple[str, bool]]:
    """Snakemake's jobs in its log: job id -> (rule, ran locally)."""
    jobs = {}
    for local, rule, body in JOB_HEADER.findall(EMBEDDED_LOG.sub("", log)):
        job_id = re.search(r"^    jobid: (\d+)$", body, re.MULTILINE)
        if job_id:
            jobs[job_id.group(1)] = (rule, bool(local))
    return jobs


def assert_every_remote_job_ran_in_slurm(log: str, workdir: Path) -> dict[str, dict[str, str]]:
    """Each non-local job in Snakemake's log went to SLURM, and SLURM knows it; its SLURM jobs."""
    jobs = planned_jobs(log)
    remote = {job_id for job_id, (_, local) in jobs.items() if not local}
    submitted = SUBMITTED.findall(EMBEDDED_LOG.sub("", log))
    assert remote, "Snakemake ran no job through SLURM"
    not_submitted = sorted(jobs[j][0] for j in remote - {job_id for job_id, _ in submitted})
    assert not not_submitted, f"jobs of these rules never went to SLURM: {not_submitted}"
    slurm = slurm_jobs(workdir)
    slurm_ids = {slurm_id for _, slurm_id in submitted}
    assert slurm_ids <= slurm.keys(), f"SLURM does not know jobs {sorted(slurm_ids - slurm.keys())}"
    return {slurm_id: slurm[slurm_id] for slurm_id in slurm_ids}


def finished_outputs(log: str, rule: str) -> set[str]:
    """Outputs of the jobs of `rule` that Snakemake's log reports as finished."""
    output_of = {}
    for _, name, body in JOB_HEADER.findall(EMBEDDED_LOG.sub("", log)):
        output = re.search(r"^    output: (.+)$", body, re.MULTILINE)
        job_id = re.search(r"^    jobid: (\d+)$", body, re.MULTILINE)
        if name == rule and output and job_id:
            output_of[job_id.group(1)] = output.group(1)
    return {output_of[j] for j, name in FINISHED.findall(log) if name == rule and j in output_of}


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
