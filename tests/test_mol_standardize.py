"""Standardization: salts and solvents stripped, charges neutralized, clear reasons for bad SMILES."""

import pytest

from medflow.molecules.standardize import StandardizeError, Standardizer, identity, parse_smiles


def standard_smiles(smiles: str, tautomer: bool = False) -> str:
    return identity(Standardizer(tautomer=tautomer)(parse_smiles(smiles)))[0]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("CC(=O)[O-].[Na+]", "CC(=O)O"),  # sodium acetate -> acetic acid
        ("C[NH+](C)C.[Cl-]", "CN(C)C"),  # trimethylamine hydrochloride -> free base
        ("O=C(O)c1ccccc1.O", "O=C(O)c1ccccc1"),  # hydrate: water removed
        ("CC(=O)Oc1ccccc1C(=O)[O-].[K+].CCO", "CC(=O)Oc1ccccc1C(=O)O"),  # salt and solvent
        ("C[N+](=O)[O-]", "C[N+](=O)[O-]"),  # a zwitterionic nitro group stays as it is
    ],
)
def test_salts_and_charges_are_standardized(given, expected):
    assert standard_smiles(given) == expected


def test_quaternary_ammonium_keeps_its_charge():
    assert standard_smiles("C[N+](C)(C)C.[Cl-]") == "C[N+](C)(C)C"


def test_same_parent_gives_same_inchikey():
    salt = identity(Standardizer()(parse_smiles("CC(=O)[O-].[Na+]")))[1]
    acid = identity(Standardizer()(parse_smiles("OC(C)=O")))[1]
    assert salt == acid == "QTBSBXVTEAMEQO-UHFFFAOYSA-N"


def test_canonical_tautomer_only_when_asked():
    assert standard_smiles("Oc1ccccn1") == "Oc1ccccn1"
    assert standard_smiles("Oc1ccccn1", tautomer=True) == "O=c1cccc[nH]1"


@pytest.mark.parametrize(
    ("smiles", "message"),
    [
        ("", "empty SMILES"),
        ("C1CC", "syntax error"),
        ("C(C)(C)(C)(C)C", "Explicit valence for atom # 0 C, 5"),
        ("c1cccc1", "sanitization"),
    ],
)
def test_bad_smiles_give_the_reason(smiles, message):
    with pytest.raises(StandardizeError, match=message):
        parse_smiles(smiles)
