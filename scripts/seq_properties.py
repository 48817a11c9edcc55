"""Per-sequence properties of every record that passed QC.

Proteins (Biopython's ProtParam): molecular weight, isoelectric point, GRAVY and instability index,
computed on the standard residues (ambiguous ones such as X are counted, then left out, since
ProtParam has no values for them). Nucleotides: length, GC fraction and molecular weight.
"""

import argparse
import json

import pandas as pd
from Bio.SeqUtils import gc_fraction, molecular_weight
from Bio.SeqUtils.ProtParam import ProteinAnalysis
from seq_io import NUCLEOTIDE, PROTEIN, read_fasta

from medflow_cli import add_common_args, progress, run_step

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fasta", help="FASTA of the unique sequences")
    parser.add_argument("--qc-table", required=True, help="QC table (maps identical copies)")
    parser.add_argument("--qc-summary", required=True, help="QC summary JSON (names the alphabet)")
    parser.add_argument("--output", required=True, help="properties table (TSV) to write")
    add_common_args(parser, threads=False)
    return parser


def from_snakemake(smk) -> dict:
    return {
        "fasta": smk.input.fasta,
        "qc_table": smk.input.qc_table,
        "qc_summary": smk.input.summary,
        "output": smk.output[0],
    }


def main(fasta, qc_table, qc_summary, output) -> None:
    """One row per record that passed QC (identical copies share their representative's row)."""
    with open(qc_summary) as handle:
        alphabet = json.load(handle)["alphabet"]
    compute = protein_properties if alphabet == "protein" else nucleotide_properties
    records = read_fasta(fasta)
    rows = {r.id: compute(r.seq) for r in progress(records, len(records), "properties")}
    qc = pd.read_csv(qc_table, sep="\t", keep_default_na=False)
    passed = qc[qc["status"] != "rejected"]
    table = pd.DataFrame(
        [
            {"id": i, **rows[rep]}
            for i, rep in zip(passed["id"], passed["representative"], strict=True)
        ]
    )
    table.sort_values("id").to_csv(output, sep="\t", index=False)


if __name__ == "__main__":
    run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
