"""Which library versions a job really ran with: each job logs them, provenance gathers them.

On the pip route every job shares one environment; on the conda route each rule has its own
(envs/<branch>.yaml), so provenance reads the line each job wrote into its own log.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

KEY_LIBRARIES = (
    "snakemake",
    "snakemake-executor-plugin-slurm",
    "biopython",
    "jsonschema",
    "keras",
    "matplotlib",
    "numpy",
    "pandas",
    "pillow",
    "pyarrow",
    "pydicom",
    "pyopal",
    "pyyaml",
    "rdkit",
    "scikit-learn",
    "scipy",
    "tensorflow-cpu",
)
MARK = "medflow-versions "


def installed_versions(names: tuple[str, ...] = KEY_LIBRARIES) -> dict[str, str]:
    """Version of each key library installed in this environment (absent ones left out)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def versions_line() -> str:
    """The line a job writes into its log."""
    return MARK + json.dumps(installed_versions(), sort_keys=True)


def versions_in_log(text: str) -> dict[str, str] | None:
    """The versions of the last run recorded in a log's text, or None when it holds none."""
    found = None
    for line in text.splitlines():
        if MARK in line:
            found = json.loads(line.split(MARK, 1)[1])
    return found


def environments_from_logs(logs_dir: str | Path, leave_out: tuple[str, ...] = ()) -> list[dict]:
    """Each distinct set of versions the jobs ran with, with the logs of the jobs that used it;
    the logs named in `leave_out` (paths as listed, e.g. "logs/report/front_page.log") are not
    read."""
    groups: dict[str, dict] = {}
    root = Path(logs_dir)
    for log_file in sorted(root.rglob("*.log")) if root.is_dir() else []:
        if log_file.relative_to(root.parent).as_posix() in leave_out:
            continue
        versions = versions_in_log(log_file.read_text(errors="replace"))
        if versions is None:
            continue
        key = json.dumps(versions, sort_keys=True)
        group = groups.setdefault(key, {"versions": versions, "job_logs": []})
        group["job_logs"].append(log_file.relative_to(root.parent).as_posix())
    return [groups[key] for key in sorted(groups)]
