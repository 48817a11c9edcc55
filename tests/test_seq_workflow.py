"""End-to-end runs of the sequences branch alone: the example families are recovered, user FASTA
(gzipped, with bad records and copies) is fully accounted for, and bad input fails clearly."""

import gzip
import json

import pandas as pd
import pytest
import yaml
from conftest import run_workflow

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
    clusters = read_tsv(results / "clusters.tsv")
    assert clusters["size"].sum() == 24
    for name in ("dendrogram", "heatmap", "lengths"):
        for ext in ("png", "svg"):
            assert (results / "plots" / f"{name}.{ext}").stat().st_size > 1000


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


def test_missing_input_file_fails_at_start_up_naming_the_key(tmp_path):
    settings = {"fasta": [str(tmp_path / "nowhere.fa")]}
    proc = run_workflow(
        tmp_path, *TINY, override(tmp_path, settings), extra=["-n", "--cores", "1"], check=False
    )
    assert proc.returncode != 0
    assert "sequences.fasta[0]" in proc.stdout + proc.stderr
