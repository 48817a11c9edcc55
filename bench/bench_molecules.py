"""Molecules per second of medflow's per-molecule pipeline vs raw RDKit doing the same stages.

Both run on RDKit's NCI first_5K.smi with the same number of worker processes (2 by default) and
the default config's stages: parse, standardize (cleanup, largest organic fragment, uncharge),
canonical SMILES + InChIKey, the 14 default descriptors, Lipinski/Veber/SAScore range and the
PAINS A/B/C alerts. The baseline is a bare multiprocessing loop with no tables, reasons or checks.
"""

import multiprocessing
import sys
import time
from pathlib import Path

import pandas as pd
from rdkit import Chem, RDConfig
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams
from rdkit.Chem.MolStandardize import rdMolStandardize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from medflow.molecules import pipeline
from medflow.molecules.descriptors import available_descriptors

THREADS = 2
QUICK_SIZE = 500
SETTINGS = {
    "tautomer": False,
    "descriptors": ["MolMR"],
    "filters": {
        "lipinski": True,
        "lipinski_violations": 1,
        "veber": True,
        "ranges": {"SAScore": {"max": 6}},
        "alerts": ["PAINS_A", "PAINS_B", "PAINS_C"],
    },
    "early_exit": False,
}
_RAW: dict = {}


def load_nci(limit: int | None = None) -> pd.DataFrame:
    """RDKit's NCI 5K set as a chunk table (file, record, id, smiles)."""
    path = Path(RDConfig.RDDataDir, "NCI", "first_5K.smi")
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()][:limit]
    return pd.DataFrame(
        {
            "file": path.name,
            "record": range(1, len(rows) + 1),
            "id": [r[1] for r in rows],
            "smiles": [r[0] for r in rows],
        }
    )


def _raw_init() -> None:
    table = available_descriptors()
    names = pipeline.output_names(SETTINGS)
    _RAW["functions"] = [table[name] for name in names]
    _RAW["chooser"] = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
    _RAW["uncharger"] = rdMolStandardize.Uncharger(canonicalOrder=True)
    catalogs = []
    for name in SETTINGS["filters"]["alerts"]:
        params = FilterCatalogParams()
        params.AddCatalog(getattr(FilterCatalogParams.FilterCatalogs, name))
        catalogs.append(FilterCatalog(params))
    _RAW["catalogs"] = catalogs


def _raw_one(smiles: str) -> tuple | None:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    mol = _RAW["uncharger"].uncharge(_RAW["chooser"].choose(rdMolStandardize.Cleanup(mol)))
    values = [f(mol) for f in _RAW["functions"]]
    alerts = [e.GetDescription() for c in _RAW["catalogs"] for e in c.GetMatches(mol)]
    lipinski = sum([values[0] > 500, values[1] > 5, values[3] > 5, values[4] > 10])
    veber = values[5] <= 10 and values[2] <= 140
    return Chem.MolToSmiles(mol), Chem.MolToInchiKey(mol), values, alerts, lipinski <= 1 and veber


def _raw_batch(batch: list[str]) -> list:
    return [_raw_one(s) for s in batch]


def raw_rdkit(smiles: list[str], threads: int) -> list:
    """The same stages as bare RDKit calls in a process pool."""
    size = max(1, len(smiles) // (threads * 4))
    batches = [smiles[i : i + size] for i in range(0, len(smiles), size)]
    with multiprocessing.get_context("fork").Pool(threads, _raw_init) as pool:
        return [row for part in pool.map(_raw_batch, batches) for row in part]


def timed(function, *args, clock=time.perf_counter) -> float:
    start = clock()
    function(*args)
    return clock() - start


def cpu_seconds(smiles: list[str], repeats: int) -> tuple[float, float]:
    """Best CPU time of the pipeline and of raw RDKit in this process (robust on a busy machine)."""
    pipeline.init_worker(SETTINGS)
    _raw_init()
    pipeline.process_batch(smiles[:5])  # load SA_Score's fragment table once, for both
    ours, raw = [], []
    for _ in range(repeats):
        ours.append(timed(pipeline.process_batch, smiles, clock=time.process_time))
        raw.append(timed(_raw_batch, smiles, clock=time.process_time))
    return min(ours), min(raw)


def run(quick: bool = False) -> list[dict]:
    """Molecules per second, pipeline and raw RDKit, best of the repeats, alternating order."""
    chunk = load_nci(QUICK_SIZE if quick else None)
    smiles = chunk["smiles"].tolist()
    ours, raw = [], []
    for _ in range(1 if quick else 3):
        ours.append(timed(pipeline.process_frame, chunk, SETTINGS, THREADS))
        raw.append(timed(raw_rdkit, smiles, THREADS))
    workflow, baseline = len(chunk) / min(ours), len(chunk) / min(raw)
    cpu_pipeline, cpu_raw = cpu_seconds(smiles[: len(smiles) // 5], 1 if quick else 3)
    n_cpu = len(smiles) // 5
    return [
        {
            "benchmark": f"molecules: standardize + descriptors + screen, NCI {len(chunk)} ({THREADS} processes)",
            "unit": "molecules/s",
            "workflow": round(workflow, 1),
            "baseline": round(baseline, 1),
            "baseline_name": "raw RDKit, same stages, same pool size",
            "notes": f"wall time, best of repeats; pipeline at {100 * workflow / baseline:.0f}% of raw RDKit (target >= 90%)",
        },
        {
            "benchmark": f"molecules: same stages, one process, NCI {n_cpu}",
            "unit": "molecules per CPU-second",
            "workflow": round(n_cpu / cpu_pipeline, 1),
            "baseline": round(n_cpu / cpu_raw, 1),
            "baseline_name": "raw RDKit, same stages",
            "notes": f"CPU time, unaffected by other load; pipeline at {100 * cpu_raw / cpu_pipeline:.0f}% of raw",
        },
    ]


if __name__ == "__main__":
    rows = run(quick="--quick" in sys.argv)
    print("| benchmark | unit | workflow | baseline | baseline_name | notes |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            "| "
            + " | ".join(
                str(row[k])
                for k in ("benchmark", "unit", "workflow", "baseline", "baseline_name", "notes")
            )
            + " |"
        )
