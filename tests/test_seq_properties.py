"""Per-sequence properties with Biopython's ProtParam."""

import pytest
from Bio.SeqUtils.ProtParam import ProteinAnalysis

from medflow.sequences.properties import nucleotide_properties, protein_properties


def test_protein_properties_match_protparam_and_skip_ambiguous():
    seq = "MKVLAAGIEEWRDDK"
    row = protein_properties(seq + "XX")
    reference = ProteinAnalysis(seq)
    assert row["length"] == 17 and row["nonstandard_residues"] == 2
    assert row["molecular_weight"] == pytest.approx(reference.molecular_weight(), abs=0.01)
    assert row["isoelectric_point"] == pytest.approx(reference.isoelectric_point(), abs=1e-3)
    assert row["gravy"] == pytest.approx(reference.gravy(), abs=1e-4)
    assert row["instability_index"] == pytest.approx(reference.instability_index(), abs=1e-3)


def test_nucleotide_properties():
    row = nucleotide_properties("GGCCAATTNN")
    assert row["gc_fraction"] == 0.5 and row["ambiguous_bases"] == 2


def test_all_ambiguous_protein_gives_empty_figures():
    row = protein_properties("XXXX")
    assert row["nonstandard_residues"] == 4 and row["gravy"] != row["gravy"]


def test_step_writes_one_row_per_passed_record_and_the_length_histogram(tmp_path):
    """Copies share their representative's figures, rejected records get none, a figure that
    cannot be computed is an empty cell, and the histogram comes in PNG and SVG."""
    import json

    import seq_properties

    (tmp_path / "unique.fasta").write_text(">a\nMKTAYIAKQR\n>x\nXXXX\n")
    header = "id\tfile\tline\tlength\tstatus\trepresentative\treason\n"
    rows = [
        "a\tin.fa\t1\t10\tunique\ta\t",
        "b\tin.fa\t3\t10\tduplicate\ta\t",
        "x\tin.fa\t5\t4\tunique\tx\t",
        "r\tin.fa\t7\t2\trejected\t\ttoo_short",
    ]
    (tmp_path / "qc.tsv").write_text(header + "\n".join(rows) + "\n")
    (tmp_path / "summary.json").write_text(json.dumps({"alphabet": "protein"}))
    inputs = {
        name: str(tmp_path / file)
        for name, file in (
            ("fasta", "unique.fasta"),
            ("qc_table", "qc.tsv"),
            ("qc_summary", "summary.json"),
        )
    }
    outputs = {
        "properties": str(tmp_path / "properties.tsv"),
        "lengths_png": str(tmp_path / "lengths.png"),
        "lengths_svg": str(tmp_path / "lengths.svg"),
    }
    seq_properties.main(seq_properties.STEP.context(inputs, outputs))
    lines = (tmp_path / "properties.tsv").read_text().splitlines()
    assert lines[0].split("\t") == [
        "id",
        "length",
        "nonstandard_residues",
        "molecular_weight",
        "isoelectric_point",
        "gravy",
        "instability_index",
    ]
    assert [line.split("\t")[0] for line in lines[1:]] == ["a", "b", "x"]
    assert lines[1].split("\t")[1:] == lines[2].split("\t")[1:]
    assert lines[3].split("\t") == ["x", "4", "4", "", "", "", ""]
    assert (tmp_path / "lengths.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "lengths.svg").read_bytes()


def test_step_with_qc_files_of_another_run_names_the_mismatch(tmp_path):
    import json

    import seq_properties

    from medflow.step import InputError

    (tmp_path / "unique.fasta").write_text(">a\nMKTAYIAKQR\n")
    header = "id\tfile\tline\tlength\tstatus\trepresentative\treason\n"
    (tmp_path / "qc.tsv").write_text(header + "z\tin.fa\t1\t10\tunique\tz\t\n")
    (tmp_path / "summary.json").write_text(json.dumps({"alphabet": "protein"}))
    inputs = {
        "fasta": str(tmp_path / "unique.fasta"),
        "qc_table": str(tmp_path / "qc.tsv"),
        "qc_summary": str(tmp_path / "summary.json"),
    }
    outputs = {name: str(tmp_path / name) for name in ("properties", "lengths_png", "lengths_svg")}
    with pytest.raises(InputError, match=r"record z passed QC but is not in .*different runs"):
        seq_properties.main(seq_properties.STEP.context(inputs, outputs))
