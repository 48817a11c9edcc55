"""Sequence clustering against its peers: medflow vs MMseqs2 (easy-cluster, easy-linclust) and CD-HIT.

Every tool clusters the same FASTA; the table gives each one's wall time, cluster count, and the
adjusted Rand index / NMI against the known groups. The data: `--fasta` and `--groups` (TSV: id,
group), else the Pfam tuning set (../shared/data/sequences/pfam_tune_12fam.*) when it is there, else
generated families (medflow.sequences.simulate, the schema's example settings, 40 x 50); `--dna`:
generated DNA families, a third of their members given as the reverse complement (the benchmark
runner measures both the protein set and these). Nucleotide input is clustered by CD-HIT-EST
instead of CD-HIT (at its lowest identity, 0.8), and medflow's previous defaults for it are one
strand with 11/1 gaps (no statistics, so the distance cut). Debian's mmseqs2 and cd-hit are
installed here when missing (as root), else their rows say why they are absent.

    python bench/bench_clustering_peers.py [--fasta F --groups G] [--dna] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "bench"), str(REPO / "scripts")]
from laptop_env import without_scontrol  # noqa: E402

from medflow.config import fill_and_validate  # noqa: E402
from medflow.sequences.io import detect_alphabet, read_fasta, write_fasta  # noqa: E402
from medflow.sequences.simulate import simulate  # noqa: E402

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
THREADS = 2
TUNING = REPO.parent / "shared" / "data" / "sequences" / "pfam_tune_12fam"
PREVIOUS_DEFAULT = {"cut": "distance", "threshold": 0.85}  # medflow's cut before issue #11
# medflow's nucleotide defaults before both strands and gap costs 'auto' (so the distance cut)
PREVIOUS_DNA = {"alignment": {"strand": "plus", "gap_open": 11, "gap_extend": 1}}
# generated DNA families: a third of the members reversed, as genes from several genomes may be
DNA_EXAMPLE = {"alphabet": "nucleotide", "reverse_fraction": 0.3, "length": 400, "divergence": 0.5}


def ensure_peers() -> str:
    """Install Debian's mmseqs2 and cd-hit if missing; return '' or why they can't be had."""
    if shutil.which("mmseqs") and shutil.which("cd-hit") and shutil.which("cd-hit-est"):
        return ""
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    try:
        subprocess.run([*apt, "update"], check=True, capture_output=True, env=env)
        subprocess.run(
            [*apt, "install", "-y", "mmseqs2", "cd-hit"], check=True, capture_output=True, env=env
        )
    except (subprocess.CalledProcessError, FileNotFoundError, PermissionError) as error:
        return f"could not install mmseqs2/cd-hit: {error}"
    return ""


def score(truth: pd.Series, clusters: pd.Series) -> dict:
    """Clusters, ARI and NMI of an assignment (id -> cluster) against the true groups."""
    clusters = clusters.reindex(truth.index)
    missing = int(clusters.isna().sum())
    clusters = clusters.astype(object).where(clusters.notna(), "unassigned").astype(str)
    return {
        "clusters": int(clusters.nunique()),
        "ari": adjusted_rand_score(truth, clusters),
        "nmi": normalized_mutual_info_score(truth, clusters),
        "unassigned": missing,
    }


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def run_mmseqs(mode: str, options: list[str], fasta: Path, work: Path) -> tuple[float, pd.Series]:
    prefix = work / f"{mode}{len(options)}"
    cmd = ["mmseqs", mode, str(fasta), str(prefix), str(work / f"tmp-{prefix.name}"), *options]
    seconds = timed([*cmd, "--threads", str(THREADS), "-v", "1"], work)
    table = pd.read_csv(f"{prefix}_cluster.tsv", sep="\t", header=None, names=["rep", "member"])
    return seconds, table.set_index("member")["rep"]


def parse_cdhit_clusters(clstr: Path) -> pd.Series:
    """id -> cluster number from a CD-HIT .clstr file."""
    assignment, cluster = {}, None
    for line in clstr.read_text().splitlines():
        if line.startswith(">Cluster"):
            cluster = int(line.split()[1])
        elif line.strip():
            assignment[line.split(">", 1)[1].split("...", 1)[0]] = cluster
    return pd.Series(assignment)


CDHIT = {  # the lowest identity each allows, with the word size its manual gives for it
    "protein": ["cd-hit", "-c", "0.4", "-n", "2"],
    "nucleotide": ["cd-hit-est", "-c", "0.8", "-n", "5", "-r", "1"],
}


def run_cdhit(fasta: Path, work: Path, alphabet: str = "protein") -> tuple[float, pd.Series]:
    out = work / "cdhit"
    program, *options = CDHIT[alphabet]
    cmd = [program, "-i", str(fasta), "-o", str(out), *options]
    seconds = timed([*cmd, "-T", str(THREADS), "-M", "0", "-d", "0"], work)
    return seconds, parse_cdhit_clusters(Path(f"{out}.clstr"))


def run_medflow(
    fasta: Path,
    labels: Path,
    work: Path,
    clustering: dict | None = None,
    name: str = "",
    sequences: dict | None = None,
) -> tuple[float, pd.Series]:
    """The sequence branch alone, through Snakemake, on the same FASTA and labels; `clustering`
    overrides sequences.clustering, `sequences` other sequences settings, and the run goes to
    work/medflow-`name`."""
    sequences = {**(sequences or {}), "fasta": [str(fasta)], "labels": str(labels)}
    if clustering:
        sequences["clustering"] = clustering
    config = {
        "molecules": {"enabled": False},
        "imaging": {"enabled": False},
        "sequences": sequences,
    }
    changed = clustering or len(sequences) > 2
    name = f"medflow-{name or ('previous' if changed else 'defaults')}"
    override = work / f"{name}.yaml"
    override.write_text(yaml.safe_dump(config))
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(work / name)]
    cmd += ["--configfile", str(REPO / "config.yaml"), str(override)]
    # as on a laptop: the SLURM plugin's scontrol probe (9 s here) is not the branch's time
    seconds = timed([*cmd, "--cores", str(THREADS), "--quiet"], work, without_scontrol(work))
    table = pd.read_csv(work / name / "results" / "sequences" / "assignments.tsv", sep="\t")
    return seconds, table.set_index("id")["cluster"]


def generated(work: Path, quick: bool, dna: bool = False) -> tuple[Path, Path, str]:
    """Generated families (the schema's example settings; DNA: DNA_EXAMPLE, 10 x 20), written into
    work."""
    example = fill_and_validate({})["sequences"]["example"]
    if dna:
        example |= DNA_EXAMPLE | (
            {"families": 4, "members": 8} if quick else {"families": 10, "members": 20}
        )
    else:
        example |= {"families": 6, "members": 10} if quick else {"families": 40, "members": 50}
    records, table = simulate(**example, seed=42)
    fasta, labels = work / "families.fasta", work / "labels.tsv"
    write_fasta(fasta, records)
    table.to_csv(labels, sep="\t", index=False)
    if dna:
        return (
            fasta,
            labels,
            (
                f"{example['families']} generated DNA families x {example['members']} "
                f"(~{example['length']} bases, divergence {example['divergence']}, "
                f"{example['reverse_fraction']:.0%} reversed)"
            ),
        )
    return fasta, labels, f"{example['families']} generated families"


def alphabet_of(fasta: Path) -> str:
    """The FASTA's kind, as QC would call most of its records."""
    kinds = [detect_alphabet(record.seq.upper()) for record in read_fasta(fasta)]
    return max(("protein", "nucleotide"), key=kinds.count)


def measure(fasta: Path, labels: Path, work: Path, peers: bool = True) -> dict[str, dict]:
    """{tool: seconds, clusters, ari, nmi, unassigned} for every tool on one data set."""
    truth = pd.read_csv(labels, sep="\t", dtype=str).set_index("id")["group"]
    # Warm the disk cache (Snakemake, NumPy, SciPy, Matplotlib...), so the first tool timed pays no
    # more start-up than the others.
    warm = (
        "import snakemake, numpy, pandas, scipy.cluster.hierarchy, matplotlib.pyplot, pyopal, Bio"
    )
    subprocess.run([sys.executable, "-c", warm], check=True, capture_output=True)
    alphabet = alphabet_of(fasta)
    tools = {"medflow defaults": lambda: run_medflow(fasta, labels, work)}
    if alphabet == "nucleotide":
        tools["medflow previous defaults (one strand, 11/1 gaps: distance cut 0.85)"] = lambda: (
            run_medflow(fasta, labels, work, sequences=PREVIOUS_DNA)
        )
    else:
        tools["medflow previous default (distance cut 0.85)"] = lambda: run_medflow(
            fasta, labels, work, PREVIOUS_DEFAULT
        )
    if peers:
        tools["mmseqs2 easy-cluster"] = lambda: run_mmseqs("easy-cluster", [], fasta, work)
        tools["mmseqs2 easy-cluster -s 7.5 -c 0 --cluster-mode 1"] = lambda: run_mmseqs(
            "easy-cluster", ["-s", "7.5", "-c", "0", "--cluster-mode", "1"], fasta, work
        )
        tools["mmseqs2 easy-linclust"] = lambda: run_mmseqs("easy-linclust", [], fasta, work)
        tools[" ".join(CDHIT[alphabet])] = lambda: run_cdhit(fasta, work, alphabet)
    measured = {}
    for name, tool in tools.items():
        seconds, clusters = tool()
        measured[name] = {"seconds": round(seconds, 2), **score(truth, clusters.astype(str))}
    return measured


def rows_of(measured: dict[str, dict], data: str, groups: int, why_not: str) -> list[dict]:
    """Benchmark rows: each other tool against medflow's defaults (time ratio; ARI in the notes)."""
    ours = measured["medflow defaults"]
    rows = []
    for name, facts in measured.items():
        if name == "medflow defaults":
            continue
        rows.append(
            {
                "benchmark": f"cluster {data}: {name}",
                "unit": "s wall (lower is better)",
                "workflow": ours["seconds"],
                "baseline": facts["seconds"],
                "baseline_name": name,
                "notes": (
                    f"{name}: {facts['clusters']} clusters (true {groups}), ARI {facts['ari']:.3f}, "
                    f"NMI {facts['nmi']:.3f}, unassigned {facts['unassigned']}; medflow defaults: "
                    f"{ours['clusters']} clusters, ARI {ours['ari']:.3f}, NMI {ours['nmi']:.3f}; "
                    "Snakemake ran with scontrol hidden, as on a laptop (bench/laptop_env.py)"
                ),
            }
        )
    if why_not:
        rows[-1]["notes"] += f"; peers absent: {why_not}"
    return rows


def choose_data(work: Path, fasta: str | None, groups: str | None, quick: bool, dna: bool = False):
    """(FASTA, groups table, name): the given files, else generated DNA families (`dna`), else the
    tuning set, else generated families."""
    if fasta and groups:
        return Path(fasta).resolve(), Path(groups).resolve(), Path(fasta).name
    if dna:
        return generated(work, quick, dna=True)
    if TUNING.with_suffix(".fasta").is_file() and not quick:
        tuning = TUNING.with_suffix(".fasta"), Path(f"{TUNING}_groups.tsv")
        return *tuning, "Pfam pfam_tune_12fam (12 x 150 domains)"
    return generated(work, quick)


def run(quick: bool = False, fasta: str | None = None, groups: str | None = None) -> list[dict]:
    """Rows for the given set, or for the protein set (choose_data) and generated DNA families."""
    why_not = ensure_peers()
    rows = []
    for dna in (False,) if fasta else (False, True):
        with tempfile.TemporaryDirectory(prefix="medflow-peers-") as tmp:
            data_fasta, data_groups, name = choose_data(Path(tmp), fasta, groups, quick, dna)
            measured = measure(data_fasta, data_groups, Path(tmp), peers=not why_not)
            count = pd.read_csv(data_groups, sep="\t", dtype=str)["group"].nunique()
        rows += rows_of(measured, name, count, why_not)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fasta", help="FASTA to cluster (default: the tuning set or generated)")
    parser.add_argument("--groups", help="TSV with columns id and group (the known families)")
    parser.add_argument("--quick", action="store_true", help="small generated families")
    parser.add_argument(
        "--dna", action="store_true", help="generated DNA families, some reverse-complemented"
    )
    args = parser.parse_args()
    if bool(args.fasta) != bool(args.groups):
        parser.error("--fasta and --groups go together")
    why_not = ensure_peers()
    with tempfile.TemporaryDirectory(prefix="medflow-peers-") as tmp:
        fasta, groups, _ = choose_data(Path(tmp), args.fasta, args.groups, args.quick, args.dna)
        measured = measure(fasta, groups, Path(tmp), peers=not why_not)
    print(f"data: {fasta}" + (f" (peers absent: {why_not})" if why_not else ""))
    width = max(map(len, measured))
    print(f"{'tool':{width}} {'ARI':>6} {'NMI':>6} {'clusters':>8} {'wall s':>8}")
    for name, facts in measured.items():
        print(
            f"{name:{width}} {facts['ari']:6.3f} {facts['nmi']:6.3f} {facts['clusters']:8d} "
            f"{facts['seconds']:8.1f}"
        )


if __name__ == "__main__":
    main()
