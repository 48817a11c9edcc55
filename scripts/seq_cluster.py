"""Hierarchical clustering of the distance matrix (SciPy), cut into clusters, with medoids and Newick.

Identical sequences collapsed by QC join their representative's cluster, so the assignments table
has one row per record that passed QC. With a labels table (ID -> known group), the summary holds
the adjusted Rand index and normalized mutual information (scikit-learn) of clusters vs groups.
The Newick tree holds the unique sequences; a node's height is half its merge distance, so the
path between two leaves has the length at which they were joined.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage, to_tree
from scipy.spatial.distance import squareform
from seq_io import read_fasta
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from medflow_cli import InputError, add_common_args, log, run_step

NEWICK_SPECIAL = set("()[]':;, \t")


def cluster(
    dist: np.ndarray, method: str, cut: str, threshold: float, n_clusters: int
) -> tuple[np.ndarray, np.ndarray]:
    """(linkage matrix, cluster labels 1..k numbered by size, then first member)."""
    tree = linkage(squareform(dist, checks=False), method=method)
    if cut == "distance":
        raw = fcluster(tree, t=threshold, criterion="distance")
    else:
        raw = fcluster(tree, t=min(n_clusters, dist.shape[0]), criterion="maxclust")
    _, first, sizes = np.unique(raw, return_index=True, return_counts=True)
    order = np.lexsort((first, -sizes))
    renumber = np.empty(order.size, dtype=int)
    renumber[order] = np.arange(1, order.size + 1)
    return tree, renumber[np.unique(raw, return_inverse=True)[1]]


def medoids(dist: np.ndarray, labels: np.ndarray) -> dict[int, int]:
    """Index of each cluster's medoid: the member with the least summed distance to the others."""
    result = {}
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        result[int(label)] = int(members[np.argmin(dist[np.ix_(members, members)].sum(axis=1))])
    return result


def newick_name(name: str) -> str:
    """A leaf name, quoted when it holds Newick's special characters."""
    if NEWICK_SPECIAL & set(name):
        return "'" + name.replace("'", "''") + "'"
    return name


def to_newick(tree: np.ndarray, names: list[str]) -> str:
    """The linkage tree as Newick with branch lengths (iterative: deep trees do not recurse)."""
    root = to_tree(tree)
    text: dict[int, str] = {}
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if node.is_leaf():
            text[node.id] = newick_name(names[node.id])
        elif not expanded:
            stack += [(node, True), (node.right, False), (node.left, False)]
        else:
            parts = [
                f"{text.pop(child.id)}:{(node.dist - child.dist) / 2:.6g}"
                for child in (node.left, node.right)
            ]
            text[node.id] = f"({','.join(parts)})"
    return text[root.id] + ";\n"


def read_labels(path: str) -> pd.Series:
    """The labels table (TSV with columns id and group) as a Series id -> group."""
    try:
        table = pd.read_csv(path, sep="\t", dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable TSV labels table ({error})") from None
    if not {"id", "group"} <= set(table.columns):
        raise InputError(f"{path}: the labels table needs columns 'id' and 'group' (tab-separated)")
    if table["id"].duplicated().any():
        raise InputError(f"{path}: ID {table['id'][table['id'].duplicated()].iloc[0]} repeats")
    return table.set_index("id")["group"]


def label_scores(assignments: pd.DataFrame, labels: pd.Series) -> dict:
    """ARI and NMI over the records that have a label."""
    known = assignments[assignments["id"].isin(labels.index)]
    facts = {"labelled_records": len(known), "unlabelled_records": len(assignments) - len(known)}
    if len(known) < 2:
        log.warning("fewer than two clustered records have a label; no ARI/NMI")
        return {**facts, "adjusted_rand_index": None, "normalized_mutual_info": None}
    truth, found = labels[known["id"]].to_numpy(), known["cluster"].to_numpy()
    return {
        **facts,
        "adjusted_rand_index": round(float(adjusted_rand_score(truth, found)), 6),
        "normalized_mutual_info": round(float(normalized_mutual_info_score(truth, found)), 6),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("distances", help="distance matrix (.npy)")
    parser.add_argument("--fasta", required=True, help="FASTA of the unique sequences")
    parser.add_argument("--qc-table", required=True, help="QC table (maps duplicates)")
    parser.add_argument("--labels", default=None, help="optional labels TSV (id, group)")
    parser.add_argument("--method", default="average", help="average, complete, single, weighted")
    parser.add_argument("--cut", choices=["distance", "count"], default="distance")
    parser.add_argument("--threshold", type=float, default=0.85, help="distance cut height")
    parser.add_argument("--n-clusters", type=int, default=6, help="clusters for --cut count")
    for name in ("assignments", "clusters", "newick", "linkage", "summary"):
        parser.add_argument(f"--{name}", required=True, help=f"{name} output")
    add_common_args(parser, threads=False)
    return parser


def from_snakemake(smk) -> dict:
    params = smk.params.clustering
    return {
        "distances": smk.input.distances,
        "fasta": smk.input.fasta,
        "qc_table": smk.input.qc_table,
        "labels": smk.input.labels[0] if smk.input.labels else None,
        "method": params["linkage"],
        "cut": params["cut"],
        "threshold": params["threshold"],
        "n_clusters": params["n_clusters"],
        **{key: smk.output[key] for key in ("assignments", "clusters", "newick", "linkage")},
        "summary": smk.output.summary,
    }


def main(distances, fasta, qc_table, labels, method, cut, threshold, n_clusters, **out) -> None:
    """Cluster, then write assignments, cluster table, Newick, linkage and summary."""
    dist = np.load(distances)
    ids = [record.id for record in read_fasta(fasta)]
    tree, labels_found = cluster(dist, method, cut, threshold, n_clusters)
    centre = medoids(dist, labels_found)
    qc = pd.read_csv(qc_table, sep="\t", dtype={"representative": str}, keep_default_na=False)
    passed = qc[qc["status"] != "rejected"][["id", "representative"]]
    cluster_of = dict(zip(ids, labels_found.tolist(), strict=True))
    assignments = passed.assign(cluster=passed["representative"].map(cluster_of))
    assert assignments["cluster"].notna().all(), "a record that passed QC got no cluster"
    medoid_ids = {ids[i] for i in centre.values()}
    assignments["is_medoid"] = assignments["id"].isin(medoid_ids)
    assignments.sort_values(["cluster", "id"]).to_csv(out["assignments"], sep="\t", index=False)
    sizes = assignments.groupby("cluster").size()
    table = pd.DataFrame(
        {
            "cluster": sorted(centre),
            "size": [int(sizes[c]) for c in sorted(centre)],
            "unique_sequences": [int((labels_found == c).sum()) for c in sorted(centre)],
            "medoid": [ids[centre[c]] for c in sorted(centre)],
        }
    )
    table.to_csv(out["clusters"], sep="\t", index=False)
    Path(out["newick"]).write_text(to_newick(tree, ids))
    np.save(out["linkage"], tree)
    facts = {"records": len(assignments), "unique": len(ids), "clusters": len(centre)}
    if labels:
        facts |= label_scores(assignments, read_labels(labels))
    log.info("clustering: %s", facts)
    Path(out["summary"]).write_text(json.dumps(facts, indent=2) + "\n")


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
