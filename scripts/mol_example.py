"""Copy the embedded example (RDKit's NCI first_5K.smi) into resources/ and record its SHA-256.

Outputs:
    smiles: the example library (resources/molecules/first_5K.smi)
    checksum: its '<sha256>  <name>' line (the sha256sum format)
"""

import hashlib
import shutil
from pathlib import Path

from medflow.step import Context, Step, log


def rdkit_example_path() -> Path:
    """RDKit's own copy of the first 5000 NCI molecules (SMILES, ID), shipped in the wheel."""
    from rdkit import RDConfig

    return Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


def sha256sum(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


STEP = Step(__file__)


def main(ctx: Context) -> None:
    source, output = rdkit_example_path(), ctx.output.smiles
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, output)
    digest = sha256sum(output)
    Path(ctx.output.checksum).write_text(f"{digest}  {Path(output).name}\n")
    log.info("copied %s -> %s (sha256 %s)", source, output, digest)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
