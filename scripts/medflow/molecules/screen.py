"""Drug-likeness rules, descriptor ranges and structural alerts; every failing reason is kept.

Rules (thresholds as published):
- Lipinski's rule of five: MolWt <= 500, MolLogP <= 5, NHOHCount <= 5, NOCount <= 10, the
  donors and acceptors counted as the paper does (NH and OH, N and O), not by RDKit's pharmacophore
  definitions (NumHDonors, NumHAcceptors, which are in the descriptor table too); a molecule fails
  when it breaks more rules than `lipinski_violations` allows.
- Veber: NumRotatableBonds <= 10 and TPSA <= 140.
- Ghose: 160 <= MolWt <= 480, -0.4 <= MolLogP <= 5.6, 40 <= MolMR <= 130, 20 <= NumAtoms <= 70.
- Egan: TPSA <= 131.6 and MolLogP <= 5.88.
Ranking score of a hit: qed * (10 - SAScore) / 9, in [0, 1]: drug-like and easy to make ranks first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # RDKit is imported where the alerts are built: the table steps never need it
    from rdkit import Chem
    from rdkit.Chem.FilterCatalog import FilterCatalog

Bound = tuple[str, float | None, float | None]

LIPINSKI: list[Bound] = [
    ("MolWt", None, 500),
    ("MolLogP", None, 5),
    ("NHOHCount", None, 5),  # donors as Lipinski counted them: NH and OH groups' hydrogens
    ("NOCount", None, 10),  # acceptors as Lipinski counted them: N and O atoms
]
RULES: dict[str, list[Bound]] = {
    "veber": [("NumRotatableBonds", None, 10), ("TPSA", None, 140)],
    "ghose": [
        ("MolWt", 160, 480),
        ("MolLogP", -0.4, 5.6),
        ("MolMR", 40, 130),
        ("NumAtoms", 20, 70),
    ],
    "egan": [("TPSA", None, 131.6), ("MolLogP", None, 5.88)],
}


def enabled_rules(filters: dict[str, Any]) -> list[str]:
    """Names of the switched-on rules, in screening order ('lipinski', 'veber', ...)."""
    return [name for name in ("lipinski", "veber", "ghose", "egan") if filters.get(name)]


def bounds(filters: dict[str, Any]) -> list[tuple[str, Bound]]:
    """Every (filter name, descriptor bound) pair the config switches on, ranges included."""
    pairs = [
        (name, b)
        for name in enabled_rules(filters)
        for b in (LIPINSKI if name == "lipinski" else RULES[name])
    ]
    for descriptor, limits in sorted(filters.get("ranges", {}).items()):
        pairs.append(("range", (descriptor, limits.get("min"), limits.get("max"))))
    return pairs


def required_descriptors(filters: dict[str, Any]) -> list[str]:
    """Descriptors the enabled filters read, so they are computed even when not asked for."""
    return sorted({b[0] for _, b in bounds(filters)})


def rule_descriptors(filters: dict[str, Any]) -> list[str]:
    """Descriptors the enabled rules (not the ranges) read: the cheap checks' inputs."""
    return sorted({b[0] for name, b in bounds(filters) if name != "range"})


def filter_order(filters: dict[str, Any]) -> list[str]:
    """Enabled filter names in the order the pipeline checks them: rules, alert sets, ranges."""
    ranges = ["range"] if filters.get("ranges") else []
    return [*enabled_rules(filters), *filters.get("alerts", []), *ranges]


def bound_failures(values: dict[str, float], rule: Iterable[Bound]) -> list[str]:
    """'NAME value > max' / 'NAME value < min' for every bound a molecule breaks; a value that
    could not be computed (NaN) breaks every bound."""
    failures = []
    for name, low, high in rule:
        value = values[name]
        if value != value and (low is not None or high is not None):  # NaN
            failures.append(f"{name} could not be computed (NaN), so it cannot be checked")
            continue
        if low is not None and value < low:
            failures.append(f"{name} {value:.4g} < {low:g}")
        if high is not None and value > high:
            failures.append(f"{name} {value:.4g} > {high:g}")
    return failures


def rule_reasons(values: dict[str, float], filters: dict[str, Any]) -> list[tuple[str, str]]:
    """(filter, reason) for every rule (Lipinski, Veber, Ghose, Egan) the molecule fails."""
    reasons = []
    for name in enabled_rules(filters):
        if name == "lipinski":
            broken = bound_failures(values, LIPINSKI)
            allowed = int(filters.get("lipinski_violations", 1))
            if len(broken) > allowed:
                reasons.append(
                    (
                        name,
                        f"Lipinski: {len(broken)} violations > {allowed} allowed ({', '.join(broken)})",
                    )
                )
        else:
            reasons += [
                (name, f"{name.capitalize()}: {f}") for f in bound_failures(values, RULES[name])
            ]
    return reasons


def range_reasons(values: dict[str, float], filters: dict[str, Any]) -> list[tuple[str, str]]:
    """('range', reason) for every configured descriptor range the molecule is outside of."""
    reasons = []
    for descriptor, limits in sorted(filters.get("ranges", {}).items()):
        rule = [(descriptor, limits.get("min"), limits.get("max"))]
        reasons += [("range", f"range: {f}") for f in bound_failures(values, rule)]
    return reasons


def build_alert_catalogs(names: Iterable[str]) -> dict[str, FilterCatalog]:
    """One RDKit FilterCatalog per selected alert set (PAINS_A, BRENK, ...). METALS is the NIH
    set's contains_metal entry alone: any metal or metalloid but the alkali and alkaline-earth
    metals (Al, Ti to Zn, As, Se, Ag, Sn, Pt, Au, Hg, Bi, the lanthanides...; not B or Si)."""
    from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

    catalogs = {}
    for name in names:
        params = FilterCatalogParams()
        source = "NIH" if name == "METALS" else name
        params.AddCatalog(getattr(FilterCatalogParams.FilterCatalogs, source))
        catalog = FilterCatalog(params)
        if name == "METALS":
            entries = [catalog.GetEntryWithIdx(k) for k in range(catalog.GetNumEntries())]
            catalog = FilterCatalog()
            for entry in entries:
                if entry.GetDescription() == "contains_metal":
                    catalog.AddEntry(entry)
        catalogs[name] = catalog
    return catalogs


def alert_reasons(mol: Chem.Mol, catalogs: dict[str, FilterCatalog]) -> list[tuple[str, str]]:
    """(alert set, reason) for every structural alert that matches, each named once."""
    reasons = []
    for name, catalog in catalogs.items():
        hits = sorted({entry.GetDescription() for entry in catalog.GetMatches(mol)})
        reasons += [(name, f"alert {name}: {hit}") for hit in hits]
    return reasons


def score(frame: pd.DataFrame) -> pd.Series:
    """The documented ranking score: qed * (10 - SAScore) / 9."""
    return frame["qed"] * (10 - frame["SAScore"]) / 9


def rank_hits(frame: pd.DataFrame) -> pd.DataFrame:
    """Passing molecules ordered by score (highest first, ties by InChIKey), with score and rank."""
    hits = frame.assign(score=score(frame)).sort_values(
        ["score", "inchikey"], ascending=[False, True]
    )
    return hits.assign(rank=range(1, len(hits) + 1)).reset_index(drop=True)
