"""Per-sequence properties: ProtParam figures for proteins, GC and weight for nucleotides.

Proteins (Biopython's ProtParam): molecular weight, isoelectric point, GRAVY and instability index,
computed on the standard residues (ambiguous ones such as X are counted, then left out, since
ProtParam has no values for them). Nucleotides: length, GC fraction and molecular weight.
"""

from __future__ import annotations

from Bio.SeqUtils import gc_fraction, molecular_weight
from Bio.SeqUtils.ProtParam import ProteinAnalysis

from medflow.sequences.io import NUCLEOTIDE, PROTEIN

PROTEIN_FIGURES = ("molecular_weight", "isoelectric_point", "gravy", "instability_index")


def protein_properties(seq: str) -> dict:
    """ProtParam figures of one protein (standard residues only)."""
    standard = "".join(c for c in seq if c in PROTEIN)
    counts = {"length": len(seq), "nonstandard_residues": len(seq) - len(standard)}
    if not standard:
        return counts | dict.fromkeys(PROTEIN_FIGURES, float("nan"))
    analysis = ProteinAnalysis(standard)
    return {
        **counts,
        "molecular_weight": round(analysis.molecular_weight(), 2),
        "isoelectric_point": round(analysis.isoelectric_point(), 3),
        "gravy": round(analysis.gravy(), 4),
        "instability_index": round(analysis.instability_index(), 3),
    }


def nucleotide_properties(seq: str) -> dict:
    """Length, GC fraction and molecular weight (ambiguous bases left out) of one DNA sequence."""
    standard = "".join(c for c in seq if c in NUCLEOTIDE)
    return {
        "length": len(seq),
        "ambiguous_bases": len(seq) - len(standard),
        "gc_fraction": round(gc_fraction(standard), 4),
        "molecular_weight": round(molecular_weight(standard, "DNA"), 2),
    }


PROPERTIES = {"protein": protein_properties, "nucleotide": nucleotide_properties}
# The properties table's columns after `id`, per alphabet.
COLUMNS = {
    "protein": ("length", "nonstandard_residues", *PROTEIN_FIGURES),
    "nucleotide": ("length", "ambiguous_bases", "gc_fraction", "molecular_weight"),
}
