"""Descriptors by name, the default set's values, and helpful messages for unknown names."""

import pytest

from medflow.molecules.descriptors import (
    DEFAULT_DESCRIPTORS,
    compute_descriptors,
    total_atoms,
    unknown_descriptor_messages,
)
from medflow.molecules.standardize import parse_smiles

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def test_default_set_for_aspirin():
    values = compute_descriptors(parse_smiles(ASPIRIN), DEFAULT_DESCRIPTORS)
    assert list(values) == list(DEFAULT_DESCRIPTORS)
    assert values["MolWt"] == pytest.approx(180.159, abs=1e-3)
    assert values["TPSA"] == pytest.approx(63.6)
    assert (values["NumHDonors"], values["NumHAcceptors"]) == (1, 3)
    assert values["NumRotatableBonds"] == 2  # RDKit's default (non-strict) count
    assert (values["RingCount"], values["NumAromaticRings"], values["HeavyAtomCount"]) == (1, 1, 13)
    assert values["FormalCharge"] == 0
    assert values["FractionCSP3"] == pytest.approx(1 / 9)
    assert 0.5 < values["qed"] < 0.6
    assert 1 < values["SAScore"] < 2  # easy to make


def test_any_rdkit_descriptor_by_name_and_the_atom_count():
    mol = parse_smiles("CCO")
    assert compute_descriptors(mol, ["NumValenceElectrons", "MolMR"])["NumValenceElectrons"] == 20
    assert total_atoms(mol) == 9


def test_unknown_names_list_close_valid_names():
    messages = unknown_descriptor_messages(["MolWt", "MolWeight", "TSPA", "xyzzy"])
    assert len(messages) == 3
    assert "'MolWeight'" in messages[0] and "MolWt" in messages[0]
    assert "'TSPA'" in messages[1] and "TPSA" in messages[1]
    assert "no close name" in messages[2]
    assert "did you mean qed?" in unknown_descriptor_messages(["QED"])[0]  # case alone
