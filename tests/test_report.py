"""The report's front page: figures from the branches' own files, shown first in the report."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from conftest import REPO, rendered_text, run_workflow

from medflow import report


def test_figures_are_formatted_for_people():
    assert report.fmt(0.91234) == "0.912"
    assert report.fmt(12345) == "12,345"
    assert report.fmt(None) == "n/a"


def test_imaging_rows_lead_with_medmnist_acc_and_auc():
    rows = dict(report.imaging_rows({"n_test": 624, "accuracy": 0.9, "roc_auc": 0.95}))
    assert rows["accuracy (ACC)"] == "0.900" and rows["ROC AUC"] == "0.950"
    assert rows["test images"] == "624"


def test_sequences_rows_show_agreement_only_with_labels():
    without = dict(report.sequences_rows({"records": 10, "unique": 9, "clusters": 3}))
    assert "adjusted Rand index vs labels" not in without and without["clusters"] == "3"
    labelled = {"clusters": 3, "adjusted_rand_index": 0.95, "normalized_mutual_info": 0.9}
    assert dict(report.sequences_rows(labelled))["adjusted Rand index vs labels"] == "0.950"


def test_molecules_rows_are_the_funnel_and_the_hit_count(tmp_path):
    summary = tmp_path / "summary.tsv"
    summary.write_text(
        "section\tstep\tcount\ninput\trecords_in\t100\ninput\tparse_failed\t3\n"
        "funnel\tafter lipinski\t7\nscreen\tfailing veber\t2\n"
    )
    hits = tmp_path / "hits.csv"
    hits.write_text("id,score\na,1\nb,2\n")
    rows = report.molecules_rows(summary, hits)
    assert rows == [
        ("input: records_in", "100"),
        ("funnel: after lipinski", "7"),
        ("ranked hits", "2"),
    ]


def test_prediction_rows_count_each_diagnosis_most_first_and_the_unreadable(tmp_path):
    diagnoses, rejects = tmp_path / "diagnoses.tsv", tmp_path / "rejects.tsv"
    diagnoses.write_text(
        "file\tpredicted_class\tprobability_a\tprobability_b\n"
        "x.png\tb\t0.2\t0.8\ny.png\ta\t0.9\t0.1\nz.png\tb\t0.3\t0.7\n"
    )
    rejects.write_text("file\treason\n")
    assert report.prediction_rows(diagnoses, rejects) == [
        ("new images diagnosed", "3"),
        ("diagnosed b", "2"),
        ("diagnosed a", "1"),
    ]
    rejects.write_text("file\treason\nbroken.png\tnot an image\n")
    assert report.prediction_rows(diagnoses, rejects)[-1] == ("new files unreadable", "1")


def test_the_terminal_summary_is_a_line_per_branch_and_names_the_page():
    rows = [("Sequences", [("clusters", "3"), ("unique sequences", "9")]), ("Molecules", [])]
    text = report.terminal_summary(rows, "results/report/front_page.html")
    assert text.splitlines() == [
        "medflow results (figures and pictures: results/report/front_page.html):",
        "  Sequences: clusters 3; unique sequences 9",
        "  Molecules: ",
    ]


def test_the_page_embeds_pictures_and_escapes_text(tmp_path):
    png = tmp_path / "p.png"
    png.write_bytes(b"\x89PNG fake")
    page = report.front_page([report.section("A<b>", [("x", "1 & 2")], [(png, "pic")])], [])
    assert "A&lt;b&gt;" in page and "1 &amp; 2" in page
    assert 'src="data:image/png;base64,' in page


@pytest.mark.slow
def test_report_opens_on_the_answers(tiny_run, chromium, tmp_path):
    """The rendered report.html shows each branch's headline figures and the run's provenance."""
    html = tmp_path / "report.html"  # outside results/, which other tests compare
    # as `make run` makes it: with the laptop profile
    extra = ["--profile", str(REPO / "profiles" / "local"), "--cores", "1"]
    extra += ["--report", str(html), "--report-metadata"]
    proc = run_workflow(
        tiny_run,
        "tiny_molecules.yaml",
        "tiny_sequences.yaml",
        "tiny_imaging.yaml",
        extra=[*extra, str(REPO / "workflow" / "report" / "metadata.yaml")],
    )
    assert "RuntimeWarning" not in proc.stdout + proc.stderr, (
        "the report's command printed a warning"
    )
    source = html.read_text(errors="replace")
    for category in ("Molecules", "Sequences", "Imaging"):
        assert category in source, f"the report has no {category} category"
    assert len(re.findall(r"image/png|image/svg", source)) >= 6, "the report holds too few plots"
    text = re.sub(r"\s+", " ", rendered_text(chromium, html, tmp_path / "chromium"))
    # The landing page as rendered: the first unescaped front page (the report's scripts hold a
    # JSON-escaped copy further down), up to its closing tag.
    start = text.index('<div class="mf-front">')
    front = text[start : text.index("</div>", start)]

    metrics = json.loads((tiny_run / "results/imaging/evaluation/metrics.json").read_text())
    assert f"accuracy (ACC)</th><td>{metrics['accuracy']:.3f}" in front
    summary = json.loads((tiny_run / "results/sequences/summary.json").read_text())
    assert f"clusters</th><td>{summary['clusters']}" in front
    with open(tiny_run / "results/molecules/hits.csv") as handle:
        assert f"ranked hits</th><td>{sum(1 for _ in csv.DictReader(handle))}" in front
    assert front.count('src="data:image/png;base64,') == 4, "confusion, ROC, dendrogram, hits"
    record = json.loads((tiny_run / "results/provenance.json").read_text())
    assert record["config_sha256"] in text and str(record["medflow"]["git_commit"]) in text
    order = [
        front.index(f"<h2>{name}</h2>") for name in ("Medical images", "Sequences", "Molecules")
    ]
    assert order == sorted(order), "imaging, sequences, molecules, then the run"


def test_front_page_is_part_of_the_run(tiny_run):
    page = (tiny_run / "results" / "report" / "front_page.html").read_text()
    assert page.startswith("<style>") and 'class="mf-front"' in page
    # and its figures end the run on the terminal, a line per branch, not in the job's log
    terminal = (tiny_run / "terminal.txt").read_text()
    assert "medflow results (figures and pictures: results/report/front_page.html):" in terminal
    summary = json.loads((tiny_run / "results/sequences/summary.json").read_text())
    assert f"  Sequences: records clustered {summary['records']:,};" in terminal
    assert "  Medical images: test images " in terminal and "  Molecules: input: " in terminal
    with open(tiny_run / "results/imaging/predictions/diagnoses.tsv") as handle:
        diagnosed = sum(1 for _ in csv.DictReader(handle, delimiter="\t"))
    assert f"; new images diagnosed {diagnosed}; diagnosed " in terminal
    assert f"new images diagnosed</th><td>{diagnosed}</td>" in page
    assert "medflow results" not in (tiny_run / "logs/report/front_page.log").read_text()
    assert Path(tiny_run / "results/provenance.json").is_file()
