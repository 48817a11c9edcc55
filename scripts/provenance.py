"""Write results/provenance.json: what produced these results, so a reviewer can rerun them.

medflow's version and commit, the config as run with its hash, the sha256 of every input file, the
platform, and the library versions: this job's, and those every job before it logged that it ran
with (one group per environment; on the conda route each branch has its own). It runs after the
results it describes; the report's front page runs beside it and its log is not read (BESIDE).
No timestamps, so reruns are byte-identical.

Inputs:
    files (many): input files to checksum (a folder counts file by file)
    results (many): the results it describes (it runs after them)
Outputs:
    record: the provenance JSON (results/provenance.json)
"""

import hashlib
import json
import platform
from pathlib import Path
from typing import Any

from medflow.config import REPO_ROOT
from medflow.origin import origin
from medflow.step import Context, Step
from medflow.versions import environments_from_logs, installed_versions

SNAKEMAKE_STAMP = ".snakemake_timestamp"  # Snakemake's marker inside directory() outputs
# The report's front page runs beside provenance (both after every result): its log may or may not
# be written when provenance reads the logs, so it is never read, and reruns stay byte-identical.
# It makes no result, and it runs in provenance's own environment (envs/provenance.yaml), whose
# versions the record holds as "libraries".
BESIDE = ("logs/report/front_page.log",)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_checksums(inputs: list[str]) -> dict[str, str]:
    """sha256 of every input file; a folder (of images, say) counts as each file inside it."""
    files = []
    for path in map(Path, inputs):
        if path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file() and p.name != SNAKEMAKE_STAMP]
        else:
            files.append(path)
    return {p.as_posix(): sha256_of(p) for p in sorted(set(files))}


def pinned_requirements(repo: Path) -> dict[str, str]:
    """The exact pins of requirements.txt (the conda envs pin the same versions)."""
    path = repo / "requirements.txt"
    if not path.is_file():
        return {}
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return dict(line.split("==", 1) for line in lines if "==" in line)


def build_provenance(
    config: dict, inputs: list[str], repo: Path, logs_dir: str | Path = "logs"
) -> dict[str, Any]:
    return {
        **origin(config, repo),
        "pinned_requirements": pinned_requirements(repo),
        "inputs": input_checksums(inputs),
        "libraries": installed_versions(),
        "job_environments": environments_from_logs(logs_dir, leave_out=BESIDE),
        "platform": {
            "python": platform.python_version(),
            "system": platform.system(),
            "machine": platform.machine(),
        },
    }


STEP = Step(__file__, settings=("seed", "molecules", "sequences", "imaging"))


def main(ctx: Context) -> None:
    record = build_provenance(ctx.config, ctx.input.files, REPO_ROOT)
    Path(ctx.output.record).parent.mkdir(parents=True, exist_ok=True)
    Path(ctx.output.record).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
