"""What made a run: medflow's version and commit, and a hash of the config as run.

provenance records them in results/provenance.json and the report's front page shows them; each
computes them itself from the same config, so the front page need not wait for provenance (which
runs after every other job, to read their logs).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any


def config_hash(config: dict[str, Any]) -> str:
    """A stable hash of the config as run: sorted keys, compact JSON."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def medflow_version(repo: Path) -> dict[str, Any]:
    """medflow's version from pyproject.toml, and the git commit when run from a checkout."""
    info: dict[str, Any] = {"version": "unknown", "git_commit": None, "git_dirty": None}
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        info["version"] = tomllib.loads(pyproject.read_text())["project"]["version"]
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            status = subprocess.run(
                ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
            )
            info["git_dirty"] = bool(status.stdout.strip())
    except FileNotFoundError:
        pass
    return info


def origin(config: dict[str, Any], repo: Path) -> dict[str, Any]:
    """The part of the provenance record that the front page shows (report.provenance_rows)."""
    return {
        "medflow": medflow_version(repo),
        "config_sha256": config_hash(config),
        "config": config,
    }
