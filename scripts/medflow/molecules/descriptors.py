"""RDKit descriptors by name: the default drug-likeness set plus any RDKit descriptor from config.

Descriptors come in two groups: the cheap ones the rules read (and the other light counts), computed
for every standardized molecule, and the expensive ones (qed, SAScore and any configured extra),
which the pipeline can skip for a molecule that has already failed a cheap check.
"""

import difflib
import os
import sys
from collections.abc import Callable, Iterable

from rdkit import Chem, RDConfig
from rdkit.Chem import Descriptors

sys.path.append(os.path.join(RDConfig.RDContribDir, "SA_Score"))
import sascorer  # RDKit's SA_Score contrib, shipped in the wheel

DEFAULT_DESCRIPTORS = (
    "MolWt",
    "MolLogP",
    "TPSA",
    "NumHDonors",
    "NumHAcceptors",
    "NumRotatableBonds",
    "RingCount",
    "NumAromaticRings",
    "HeavyAtomCount",
    "FormalCharge",
    "FractionCSP3",
    "qed",
    "SAScore",
)


EXPENSIVE = ("qed", "SAScore")


def total_atoms(mol: Chem.Mol) -> int:
    """Atoms including implicit hydrogens (Ghose's atom count)."""
    return mol.GetNumAtoms() + sum(atom.GetTotalNumHs() for atom in mol.GetAtoms())


def available_descriptors() -> dict[str, Callable[[Chem.Mol], float]]:
    """Every descriptor name medflow accepts: RDKit's Descriptors.descList plus three of its own."""
    table = dict(Descriptors.descList)
    table["FormalCharge"] = Chem.GetFormalCharge
    table["SAScore"] = sascorer.calculateScore
    table["NumAtoms"] = total_atoms
    return table


def unknown_descriptor_messages(names: Iterable[str]) -> list[str]:
    """One message per unknown descriptor name, suggesting the closest valid names."""
    valid = sorted(available_descriptors())
    messages = []
    for name in names:
        if name not in valid:
            same_letters = [v for v in valid if v.lower() == name.lower()]  # QED for qed
            close = same_letters or difflib.get_close_matches(name, valid, n=5, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else "no close name"
            messages.append(f"unknown RDKit descriptor '{name}' ({hint})")
    return messages


def compute_descriptors(
    mol: Chem.Mol, names: Iterable[str], table: dict[str, Callable] | None = None
) -> dict[str, float]:
    """Descriptor values of one molecule, in the order asked."""
    table = table or available_descriptors()
    return {name: float(table[name](mol)) for name in names}


def descriptor_names(extra: Iterable[str], required: Iterable[str]) -> list[str]:
    """Default descriptors, then the configured extras, then those only the filters need."""
    names = list(DEFAULT_DESCRIPTORS)
    for name in [*extra, *required]:
        if name not in names:
            names.append(name)
    return names


def split_by_cost(
    names: list[str], extra: Iterable[str], needed_early: Iterable[str]
) -> tuple[list[str], list[str]]:
    """(cheap, expensive) names in their original order: qed, SAScore and configured extras are
    expensive unless a rule reads them (MolMR for Ghose, say)."""
    early = set(needed_early)
    late = (set(EXPENSIVE) | set(extra)) - early
    return [n for n in names if n not in late], [n for n in names if n in late]
