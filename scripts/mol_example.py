"""Copy the embedded example (RDKit's NCI first_5K.smi) into resources/ and record its SHA-256."""

import argparse
import hashlib
import logging
import shutil
from pathlib import Path
from typing import Any

from medflow_cli import add_common_args, run_step

log = logging.getLogger("mol_example")


def rdkit_example_path() -> Path:
    """RDKit's own copy of the first 5000 NCI molecules (SMILES, ID), shipped in the wheel."""
    from rdkit import RDConfig

    return Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


def sha256sum(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def main(output: str, checksum: str) -> None:
    """Copy the example and write `<sha256>  <name>` beside it (the sha256sum format)."""
    source = rdkit_example_path()
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, output)
    digest = sha256sum(output)
    Path(checksum).write_text(f"{digest}  {Path(output).name}\n")
    log.info("copied %s -> %s (sha256 %s)", source, output, digest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", default="resources/molecules/first_5K.smi")
    parser.add_argument("--checksum", default="resources/molecules/first_5K.smi.sha256")
    add_common_args(parser, threads=False)
    return parser


def from_snakemake(smk: Any) -> dict[str, Any]:
    return {"output": smk.output.smiles, "checksum": smk.output.checksum}


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
