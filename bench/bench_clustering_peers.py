"""Sequence clustering against its peers: medflow vs MMseqs2 (easy-cluster, easy-linclust) and CD-HIT.

All tools cluster the same seeded families from scripts/seq_simulate.py; the table gives each tool's
wall time, number of clusters, and adjusted Rand index / NMI against the true families. Debian's
mmseqs2 and cd-hit are installed here when missing (as root), else their rows say why they are absent.
"""

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
sys.path.insert(0, str(REPO / "scripts"))
import seq_simulate  # noqa: E402

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
THREADS = 2


def ensure_peers() -> str:
    """Install Debian's mmseqs2 and cd-hit if missing; return '' or why they can't be had."""
    if shutil.which("mmseqs") and shutil.which("cd-hit"):
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
    """Clusters, ARI and NMI of an assignment (id -> cluster) against the true families."""
    clusters = clusters.reindex(truth.index)
    missing = int(clusters.isna().sum())
    clusters = clusters.astype(object).where(clusters.notna(), "unassigned").astype(str)
    return {
        "clusters": int(clusters.nunique()),
        "ari": adjusted_rand_score(truth, clusters),
        "nmi": normalized_mutual_info_score(truth, clusters),
        "unassigned": missing,
    }


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def run_mmseqs(mode: str, fasta: Path, work: Path) -> tuple[float, pd.Series]:
    prefix = work / mode
    cmd = [
        "mmseqs",
        mode,
        str(fasta),
        str(prefix),
        str(work / f"tmp-{mode}"),
        "--threads",
        str(THREADS),
        "-v",
        "1",
    ]
    seconds = timed(cmd, work)
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


def run_cdhit(fasta: Path, work: Path) -> tuple[float, pd.Series]:
    out = work / "cdhit"
    cmd = [
        "cd-hit",
        "-i",
        str(fasta),
        "-o",
        str(out),
        "-c",
        "0.4",
        "-n",
        "2",
        "-T",
        str(THREADS),
        "-M",
        "0",
        "-d",
        "0",
    ]
    seconds = timed(cmd, work)
    return seconds, parse_cdhit_clusters(Path(f"{out}.clstr"))


def run_medflow(fasta: Path, labels: Path, work: Path) -> tuple[float, pd.Series]:
    """The sequence branch alone, through Snakemake, on the same FASTA and labels."""
    config = {
        "molecules": {"enabled": False},
        "imaging": {"enabled": False},
        "sequences": {"fasta": [str(fasta)], "labels": str(labels)},
    }
    override = work / "medflow.yaml"
    override.write_text(yaml.safe_dump(config))
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(work / "medflow")]
    cmd += [
        "--configfile",
        str(REPO / "config.yaml"),
        str(override),
        "--cores",
        str(THREADS),
        "--quiet",
    ]
    seconds = timed(cmd, work)
    table = pd.read_csv(work / "medflow" / "results" / "sequences" / "assignments.tsv", sep="\t")
    return seconds, table.set_index("id")["cluster"]


def run(quick: bool = False) -> list[dict]:
    families, members = (6, 10) if quick else (40, 50)
    why_not = ensure_peers()
    with tempfile.TemporaryDirectory(prefix="medflow-peers-") as tmp:
        work = Path(tmp)
        fasta, labels = work / "families.fasta", work / "labels.tsv"
        seq_simulate.main(str(fasta), str(labels), families, members, 140, 0.4, 0.05, 42)
        truth = pd.read_csv(labels, sep="\t").set_index("id")["group"]
        tools = {"medflow (pyopal + UPGMA)": lambda: run_medflow(fasta, labels, work)}
        if not why_not:
            tools["mmseqs2 easy-cluster"] = lambda: run_mmseqs("easy-cluster", fasta, work)
            tools["mmseqs2 easy-linclust"] = lambda: run_mmseqs("easy-linclust", fasta, work)
            tools["cd-hit -c 0.4"] = lambda: run_cdhit(fasta, work)
        measured = {}
        for name, tool in tools.items():
            seconds, clusters = tool()
            measured[name] = {"seconds": seconds, **score(truth, clusters)}
    medflow_name = next(iter(measured))
    ours = measured[medflow_name]
    rows = []
    for name, facts in measured.items():
        if name == medflow_name:
            continue
        rows.append(
            {
                "benchmark": f"cluster {len(truth)} sequences of {families} families: {name}",
                "unit": "s wall (lower is better)",
                "workflow": ours["seconds"],
                "baseline": facts["seconds"],
                "baseline_name": name,
                "notes": (
                    f"clusters {facts['clusters']} (true {families}), ARI {facts['ari']:.3f}, "
                    f"NMI {facts['nmi']:.3f}, unassigned {facts['unassigned']}; "
                    f"medflow: {ours['clusters']} clusters, ARI {ours['ari']:.3f}, NMI {ours['nmi']:.3f}"
                ),
            }
        )
    if why_not:
        rows.append(
            {
                "benchmark": f"cluster {len(truth)} sequences of {families} families: medflow alone",
                "unit": "s wall (lower is better)",
                "workflow": ours["seconds"],
                "baseline": 0.0,
                "baseline_name": "no peer",
                "notes": f"ARI {ours['ari']:.3f}, NMI {ours['nmi']:.3f}; peers absent: {why_not}",
            }
        )
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
