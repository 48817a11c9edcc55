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
