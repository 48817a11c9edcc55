"""Screening: known drugs' rule-of-five outcomes, PAINS alerts, and every failing reason kept."""

import pandas as pd
import pytest

from medflow.molecules.descriptors import compute_descriptors, descriptor_names
from medflow.molecules.screen import (
    alert_reasons,
    build_alert_catalogs,
    range_reasons,
    rank_hits,
    required_descriptors,
    rule_reasons,
)
from medflow.molecules.standardize import parse_smiles

DRUGS = {
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "caffeine": "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
    "ibuprofen": "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "paracetamol": "CC(=O)Nc1ccc(O)cc1",
    "cyclosporin": (
        "CC[C@H]1C(=O)N(CC(=O)N([C@H](C(=O)N[C@H](C(=O)N([C@H](C(=O)N[C@H](C(=O)N[C@@H](C(=O)"
        "N([C@H](C(=O)N([C@H](C(=O)N([C@H](C(=O)N([C@H](C(=O)N1)[C@@H]([C@H](C)C/C=C/C)O)C)"
        "C(C)C)C)CC(C)C)C)CC(C)C)C)C)C)CC(C)C)C)C(C)C)CC(C)C)C)C"
    ),
}
ALL_RULES = {"lipinski": True, "lipinski_violations": 1, "veber": True, "ghose": True, "egan": True}


def values(smiles: str, filters: dict) -> dict:
    return compute_descriptors(
        parse_smiles(smiles), descriptor_names([], required_descriptors(filters))
    )


@pytest.mark.parametrize("drug", ["aspirin", "caffeine", "ibuprofen", "paracetamol"])
def test_small_oral_drugs_pass_the_rule_of_five(drug):
    filters = {"lipinski": True, "lipinski_violations": 0}
    assert rule_reasons(values(DRUGS[drug], filters), filters) == []


def test_cyclosporin_fails_the_rule_of_five():
    filters = {"lipinski": True, "lipinski_violations": 1}
    reasons = rule_reasons(values(DRUGS["cyclosporin"], filters), filters)
    assert len(reasons) == 1 and reasons[0][0] == "lipinski"
    assert "MolWt 1203 > 500" in reasons[0][1] and "> 1 allowed" in reasons[0][1]


def test_allowed_violations_decide_the_outcome():
    one_violation = {"MolWt": 520.0, "MolLogP": 3.0, "NHOHCount": 2.0, "NOCount": 6.0}
    assert rule_reasons(one_violation, {"lipinski": True, "lipinski_violations": 1}) == []
    strict = rule_reasons(one_violation, {"lipinski": True, "lipinski_violations": 0})
    assert strict == [("lipinski", "Lipinski: 1 violations > 0 allowed (MolWt 520 > 500)")]


def test_every_failing_reason_is_reported():
    filters = {**ALL_RULES, "ranges": {"qed": {"min": 0.5}, "MolWt": {"max": 300}}}
    found = values(DRUGS["cyclosporin"], filters)
    reasons = [r for _, r in rule_reasons(found, filters) + range_reasons(found, filters)]
    expected = [
        "Lipinski: 2 violations",
        "Veber: NumRotatableBonds 15 > 10",
        "Veber: TPSA 278.8 > 140",
        "Ghose: MolWt 1203 > 480",
        "Ghose: MolMR",
        "Ghose: NumAtoms 196 > 70",
        "Egan: TPSA 278.8 > 131.6",
        "range: MolWt 1203 > 300",
        "range: qed",
    ]
    assert len(reasons) == len(expected)
    for reason, start in zip(reasons, expected, strict=True):
        assert reason.startswith(start), (reason, start)


def test_ghose_lower_bounds():
    filters = {"ghose": True}
    reasons = [r for _, r in rule_reasons(values("O=C1C=CC(=O)C=C1", filters), filters)]
    assert reasons == [
        "Ghose: MolWt 108.1 < 160",
        "Ghose: MolMR 28.29 < 40",
        "Ghose: NumAtoms 12 < 20",
    ]


def test_pains_positive_rhodanine_and_a_clean_drug():
    catalogs = build_alert_catalogs(["PAINS_A", "PAINS_B", "PAINS_C"])
    rhodanine = alert_reasons(parse_smiles("O=C1C(=Cc2ccccc2)SC(=S)N1"), catalogs)
    assert rhodanine == [("PAINS_A", "alert PAINS_A: ene_rhod_A(235)")]
    assert alert_reasons(parse_smiles(DRUGS["paracetamol"]), catalogs) == []


def test_every_matching_alert_set_is_named():
    catalogs = build_alert_catalogs(["PAINS_A", "BRENK"])
    reasons = alert_reasons(parse_smiles("O=C1C(=Cc2ccccc2)SC(=S)N1"), catalogs)
    assert [name for name, _ in reasons] == ["PAINS_A", "BRENK", "BRENK"]
    assert "alert BRENK: Thiocarbonyl_group" in [r for _, r in reasons]


def test_ranking_by_documented_score():
    frame = pd.DataFrame(
        {"inchikey": ["B", "A", "C"], "qed": [0.9, 0.9, 0.5], "SAScore": [1.0, 1.0, 5.5]}
    )
    ranked = rank_hits(frame)
    assert ranked["inchikey"].tolist() == ["A", "B", "C"]  # tie broken by InChIKey
    assert ranked["score"].tolist() == pytest.approx([0.9, 0.9, 0.25])
    assert ranked["rank"].tolist() == [1, 2, 3]


def test_a_descriptor_that_could_not_be_computed_fails_its_range():
    filters = {"ranges": {"MolWt": {"max": 500}, "TPSA": {"min": 0}}}
    reasons = range_reasons({"MolWt": float("nan"), "TPSA": 20.0}, filters)
    assert reasons == [
        ("range", "range: MolWt could not be computed (NaN), so it cannot be checked")
    ]


def test_metals_alert_is_nihs_contains_metal_entry_alone():
    """METALS flags complexes of transition metals, post-transition metals and metalloids, not
    boron drugs, sodium salts or the other NIH alerts."""
    catalog = build_alert_catalogs(["METALS"])["METALS"]
    assert catalog.GetNumEntries() == 1
    flagged = {
        smiles: bool(alert_reasons(parse_smiles(smiles), {"METALS": catalog}))
        for smiles in (
            "O=C1O[Pt]OC(=O)C12CCC2",  # carboplatin
            "CCCC[Sn](Cl)(CCCC)CCCC",
            "C[Hg]Cl",
            "CC(C)C[C@H](NC(=O)[C@H](Cc1ccccc1)NC(=O)c1cnccn1)B(O)O",  # bortezomib
            "CCCC(CCC)C(=O)[O-].[Na+]",
            "C[N+](C)(C)CC[N+](C)(C)C",  # two quaternary N: an NIH alert, not METALS
        )
    }
    assert list(flagged.values()) == [True, True, True, False, False, False]
    reasons = alert_reasons(parse_smiles("O=C1O[Pt]OC(=O)C12CCC2"), {"METALS": catalog})
    assert reasons == [("METALS", "alert METALS: contains_metal")]


def test_lipinski_counts_donors_and_acceptors_as_published():
    """Methotrexate: RDKit's pharmacophore counts give 5 donors and 9 acceptors, within the rule;
    Lipinski's NH+OH (7) and N+O (13) counts break two rules, so it fails with one allowed."""
    methotrexate = "CN(Cc1cnc2nc(N)nc(N)c2n1)c1ccc(cc1)C(=O)N[C@@H](CCC(=O)O)C(=O)O"
    filters = {"lipinski": True, "lipinski_violations": 1}
    found = values(methotrexate, filters)
    assert (found["NHOHCount"], found["NOCount"]) == (7, 13)
    (reason,) = rule_reasons(found, filters)
    assert "NHOHCount 7 > 5" in reason[1] and "NOCount 13 > 10" in reason[1]
