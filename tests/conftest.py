"""Shared fixtures: the repository's paths and a runner for the workflow on small configs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "tests" / "configs"
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")


def snakemake_cmd(
    workdir: Path, *configfiles: Path | str, extra: list[str] | None = None
) -> list[str]:
    """The command running medflow in `workdir` with config.yaml plus `configfiles`."""
    configs = [
        str(REPO / "config.yaml"),
        *[str(CONFIGS / c) if not os.path.isabs(str(c)) else str(c) for c in configfiles],
    ]
    return [
        SNAKEMAKE,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        *configs,
        *(extra or ["--cores", "2"]),
    ]


def run_workflow(
    workdir: Path,
    *configfiles: Path | str,
    extra: list[str] | None = None,
    check: bool = True,
    timeout: int = 1800,
) -> subprocess.CompletedProcess:
    """Run the workflow; on failure show Snakemake's output so the test report says why."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        snakemake_cmd(workdir, *configfiles, extra=extra),
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"snakemake exited {proc.returncode}\n--- stdout ---\n{proc.stdout[-6000:]}"
            f"\n--- stderr ---\n{proc.stderr[-10000:]}"
        )
    return proc


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


TINY_CONFIGS = ("tiny_molecules.yaml", "tiny_sequences.yaml", "tiny_imaging.yaml")


def result_checksums(workdir: Path, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under workdir/results, by relative path."""
    sums = {}
    for path in sorted((workdir / "results").rglob("*")):
        rel = path.relative_to(workdir).as_posix()
        if path.is_file() and rel not in exclude:
            sums[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return sums


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One local run of the whole workflow (all three branches) on the tiny test configs."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    proc = run_workflow(workdir, *TINY_CONFIGS)
    # what the terminal showed, for the tests of what a user sees (outside results/)
    (workdir / "terminal.txt").write_text(proc.stdout + proc.stderr)
    return workdir


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's headless Chromium, installed with apt-get when missing and the tests run as root.

    Skipped with the reason where it cannot be had; under CI=true that is a failure instead.
    """
    if not CHROMIUM.exists() and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
            subprocess.run(cmd, capture_output=True, env=env, timeout=900, check=False)
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Debian's chromium could not be installed")
        pytest.skip("no /usr/bin/chromium (apt-get install chromium, as root)")
    return CHROMIUM


def rendered_text(chromium: Path, page: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran, from headless Chromium (no network, no GPU)."""
    proc = subprocess.run(
        [
            str(chromium),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


# --- SLURM test cluster (owned by the cluster work: tests/slurm_cluster.py, tests/test_slurm.py) ---
@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-machine SLURM cluster for tests marked `slurm`.

    Started by tests/slurm_cluster.py (installed first if missing) and stopped at the end of the
    session when this fixture started it. Where it cannot start (not root, no packages) the tests
    are skipped with the reason; under CI=true they fail instead, loudly.
    """
    import slurm_cluster as cluster_script

    try:
        started = cluster_script.start()
    except cluster_script.ClusterUnavailable as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the test SLURM cluster could not start: {err}")
        pytest.skip(f"no SLURM cluster on this machine: {err}")
    yield cluster_script
    if started:
        cluster_script.stop()
