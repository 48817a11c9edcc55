"""End-to-end runs of the sequences branch alone: the example families are recovered, user FASTA
(gzipped, with bad records and copies) is fully accounted for, bad input fails clearly and early,
and a step run by hand gives the workflow's own bytes."""

import gzip
import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import CONFIGS, REPO, run_workflow

pytestmark = pytest.mark.slow
TINY = ("tiny_sequences.yaml", "only_sequences.yaml")


def read_tsv(path):
    return pd.read_csv(path, sep="\t", keep_default_na=False)


def override(tmp_path, sequences: dict) -> str:
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump({"sequences": sequences}))
    return str(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("seq_tiny")
    run_workflow(workdir, *TINY)
    return workdir


def test_tiny_run_recovers_the_generated_families(tiny):
    results = tiny / "results" / "sequences"
    summary = json.loads((results / "summary.json").read_text())
    assert summary["adjusted_rand_index"] >= 0.9, summary
    assert summary["normalized_mutual_info"] >= 0.9, summary
    assert summary["labelled_records"] == 24 and summary["clusters"] == 3
    assert summary["cut"] == "significance" and summary["significant_pairs"] > 24
    clusters = read_tsv(results / "clusters.tsv")
    assert clusters["size"].sum() == 24 and sorted(clusters["size"]) == [8, 8, 8]
    assignments = read_tsv(results / "assignments.tsv").set_index("id")
    assert set(clusters["medoid"]) == set(assignments.index[assignments["is_medoid"]])
    plots = results / "plots"
    assert "24 sequences, 3 clusters" in (plots / "dendrogram.svg").read_text()
    assert "24 sequences shown" in (plots / "heatmap.svg").read_text()
    for name in ("dendrogram", "heatmap", "lengths"):
        assert (plots / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        assert (plots / f"{name}.svg").read_text().rstrip().endswith("</svg>")


def test_a_step_run_by_hand_gives_the_workflow_bytes(tiny, tmp_path):
    """seq_cluster by hand (--configfile, --set, inputs, outputs) == the same step in the workflow,
    its figures included."""
    results = tiny / "results" / "sequences"
    inputs = [
        "--scores",
        results / "alignment" / "scores.npy",
        results / "qc" / "unique.fasta",
        results / "qc" / "qc.tsv",
        results / "qc" / "summary.json",
    ]
    names = ("assignments.tsv", "clusters.tsv", "tree.nwk", "linkage.npy", "summary.json")
    names += ("dendrogram.png", "dendrogram.svg", "heatmap.png", "heatmap.svg")
    config = tmp_path / "config.yaml"
    config.write_text((REPO / "config.yaml").read_text())
    # The tiny configs change no clustering key, and of the plots' keys max_labels (16); the
    # first --set restates a default, as a user might.
    command = [
        sys.executable,
        str(REPO / "scripts" / "seq_cluster.py"),
        "--configfile",
        str(config),
    ]
    command += ["--set", "sequences.clustering.cut=significance"]
    command += ["--set", "sequences.plots.max_labels=16"]
    command += [*map(str, inputs), "--labels", str(tiny / "resources/sequences/example_labels.tsv")]
    command += [str(tmp_path / name) for name in names]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in names:
        made = results / ("plots/" if name.split(".")[0] in ("dendrogram", "heatmap") else "")
        assert (tmp_path / name).read_bytes() == (made / name).read_bytes(), name


def test_harder_simulated_families_are_recovered(tmp_path):
    """Eight families that diverge unevenly, with fragments: ARI >= 0.9 with the defaults."""
    example = {"families": 8, "members": 20, "divergence": 0.6}
    path = tmp_path / "harder.yaml"
    path.write_text(
        yaml.safe_dump({"sequences": {"example": example, "plots": {"max_labels": 16}}})
    )
    run_workflow(tmp_path, str(CONFIGS / "only_sequences.yaml"), str(path))
    summary = json.loads((tmp_path / "results" / "sequences" / "summary.json").read_text())
    lengths = read_tsv(tmp_path / "results" / "sequences" / "qc" / "qc.tsv")["length"]
    assert lengths.min() < 0.5 * lengths.median()  # fragments are there
    assert summary["adjusted_rand_index"] >= 0.9, summary


@pytest.mark.parametrize("path", ["dense", "sparse"])
def test_dna_families_in_either_orientation_are_recovered(tmp_path, path):
    """DNA families (Kimura's model, fragments, uneven divergence), a third of the members given as
    their reverse complement: with the defaults (both strands, NUC.4.4 with BLAST's 10/6 gaps and
    their statistics) the significance cut recovers them, ARI >= 0.9, on all pairs and on the
    sparse path (canonical 7-mers propose the pairs on either strand; sparse_above lowered). Run
    with --cores 3: the alignment job takes all three (its rule asks for 8, Snakemake lowers it)."""
    example = {"families": 8, "members": 15, "length": 300, "divergence": 0.4}
    example |= {"alphabet": "nucleotide", "reverse_fraction": 0.3}
    sequences = {"example": example}
    if path == "sparse":
        sequences["alignment"] = {"sparse_above": 50}
    config = tmp_path / "dna.yaml"
    config.write_text(yaml.safe_dump({"sequences": sequences}))
    run_workflow(
        tmp_path, str(CONFIGS / "only_sequences.yaml"), str(config), extra=["--cores", "3"]
    )
    results = tmp_path / "results" / "sequences"
    summary = json.loads((results / "summary.json").read_text())
    qc = json.loads((results / "qc" / "summary.json").read_text())
    assert (qc["alphabet"], qc["matrix"]) == ("nucleotide", "NUC.4.4")
    logs = tmp_path / "logs" / "sequences"
    alignment_log = logs / ("align_pairs/0.log" if path == "sparse" else "gather.log")
    assert "3 threads" in alignment_log.read_text()
    assert summary["cut"] == "significance", summary
    assert summary.get("path", "dense") == path, summary
    assert summary["adjusted_rand_index"] >= 0.9, summary
    assert "gc_fraction" in read_tsv(results / "properties.tsv").columns


def test_tiny_run_aligns_in_blocks_and_accounts_for_every_record(tiny):
    results = tiny / "results" / "sequences"
    block_logs = sorted(p.name for p in (tiny / "logs" / "sequences" / "align").glob("*.log"))
    assert block_logs == ["0_0.log", "0_1.log", "0_2.log", "1_1.log", "1_2.log", "2_2.log"]
    qc = read_tsv(results / "qc" / "qc.tsv")
    assignments = read_tsv(results / "assignments.tsv")
    rejects = read_tsv(results / "qc" / "rejects.tsv")
    assert len(qc) == len(assignments) + len(rejects) == 24
    assert len(read_tsv(results / "properties.tsv")) == len(assignments)
    newick = (results / "tree.nwk").read_text()
    assert all(f"{rid}:" in newick for rid in assignments["id"])


def test_user_fasta_with_bad_records_copies_and_labels(tmp_path):
    records = {
        "alpha1": "MKVLAAGIEEWLLQHPRSTAGKLMNQWERTY",
        "alpha2": "MKVLAAGIEEWLLQHPRSTAGKLMNQWERSY",
        "alpha3": "MKVLSAGIEEWLLQHPRSTAGKLMNQWERTY",
        "beta1": "CCHHWWYYPPFFDDEEGGCCHHWWYYPPFF",
        "beta2": "CCHHWWYYPPFFDDEEGGCCHHWWYYPPFW",
    }
    first = tmp_path / "first.fa.gz"
    first.write_bytes(gzip.compress("".join(f">{k}\n{v}\n" for k, v in records.items()).encode()))
    second = tmp_path / "second.fa"
    second.write_text(f">copy\n{records['beta1'].lower()}\n>junk\nMKV#LL\n>stub\nMK\n>none\n")
    labels = tmp_path / "labels.tsv"
    labels.write_text("id\tgroup\n" + "".join(f"{k}\t{k[:-1]}\n" for k in records) + "copy\tbeta\n")
    settings = {
        "fasta": [str(first), str(second)],
        "labels": str(labels),
        "alignment": {"engine": "biopython", "mode": "global", "block_size": 2},
        "clustering": {"cut": "count", "n_clusters": 2},
    }
    run_workflow(tmp_path, *TINY, override(tmp_path, settings))
    results = tmp_path / "results" / "sequences"
    rejects = read_tsv(results / "qc" / "rejects.tsv")
    assert dict(zip(rejects["id"], rejects["reason"], strict=True)) == {
        "junk": "invalid_characters",
        "stub": "too_short",
        "none": "empty_sequence",
    }
    assignments = read_tsv(results / "assignments.tsv").set_index("id")
    assert len(assignments) == 6 and assignments.loc["copy", "representative"] == "beta1"
    assert assignments.loc["copy", "cluster"] == assignments.loc["beta2", "cluster"]
    assert json.loads((results / "summary.json").read_text())["adjusted_rand_index"] == 1.0


def test_duplicate_ids_fail_with_a_message_naming_both(tmp_path):
    fasta = tmp_path / "dup.fa"
    fasta.write_text(">a\nMKVLAAGIEEWLLQHPRST\n>b\nCCHHWWYYPPFFDDEEGG\n>a\nMKVLAAGIEEWLLQHPRSW\n")
    proc = run_workflow(tmp_path, *TINY, override(tmp_path, {"fasta": [str(fasta)]}), check=False)
    assert proc.returncode != 0
    log = (tmp_path / "logs" / "sequences" / "qc.log").read_text()
    assert "duplicate sequence ID: 'a'" in log and "line 1" in log and "line 5" in log
    assert "Traceback" not in log


def dry_run(tmp_path, settings):
    extra = ["-n", "--cores", "1"]
    return run_workflow(tmp_path, *TINY, override(tmp_path, settings), extra=extra, check=False)


def fasta_and_labels(tmp_path, header="id\tgroup", ids=("a", "b")):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">a\nMKVLAAGIEEWLLQHPRST\n>b\nCCHHWWYYPPFFDDEEGG\n")
    labels = tmp_path / "labels.tsv"
    labels.write_text(header + "\n" + "".join(f"{name}\tX\n" for name in ids))
    return {"fasta": [str(fasta)], "labels": str(labels)}


@pytest.mark.parametrize(
    ("header", "ids", "message"),
    [
        ("id\tfamily", ("a", "b"), "the header line is ['id', 'family']"),
        ("id\tgroup", ("x1", "x2"), "none of its 2 IDs (e.g. x1, x2) matches"),
    ],
)
def test_bad_labels_table_stops_the_run_at_start_up(tmp_path, header, ids, message):
    settings = fasta_and_labels(tmp_path, header, ids)
    proc = dry_run(tmp_path, settings)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "sequences.labels" in out and settings["labels"] in out and message in out
    assert not (tmp_path / "results").exists()


def test_missing_labels_table_stops_the_run_at_start_up(tmp_path):
    settings = {**fasta_and_labels(tmp_path), "labels": str(tmp_path / "nowhere.tsv")}
    proc = dry_run(tmp_path, settings)
    assert proc.returncode != 0
    assert (
        "sequences.labels" in proc.stdout + proc.stderr
        and "nowhere.tsv" in proc.stdout + proc.stderr
    )


def test_a_disabled_branch_is_not_checked(tmp_path):
    settings = {"enabled": False, "fasta": [str(tmp_path / "missing.fa")], "labels": "gone.tsv"}
    proc = dry_run(tmp_path, settings)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_missing_input_file_fails_at_start_up_naming_the_key(tmp_path):
    settings = {"fasta": [str(tmp_path / "nowhere.fa")]}
    proc = run_workflow(
        tmp_path, *TINY, override(tmp_path, settings), extra=["-n", "--cores", "1"], check=False
    )
    assert proc.returncode != 0
    assert "sequences.fasta[0]" in proc.stdout + proc.stderr
