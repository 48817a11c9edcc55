"""Molecule standardization with RDKit's MolStandardize: the same molecule always gets the same form.

Steps: parse and sanitize, cleanup (normalize groups, disconnect metals), keep the largest organic
fragment (strips salts and solvents), neutralize charges, optionally pick the canonical tautomer.
"""

from dataclasses import dataclass, field

from rdkit import Chem, RDLogger
from rdkit.Chem.MolStandardize import rdMolStandardize

RDLogger.DisableLog("rdApp.*")


class StandardizeError(ValueError):
    """A molecule that cannot be parsed or standardized; the message is the rejects reason."""


def parse_smiles(smiles: str) -> Chem.Mol:
    """Parse and sanitize a SMILES string, raising StandardizeError with RDKit's own reason."""
    text = smiles.strip()
    if not text:
        raise StandardizeError("empty SMILES")
    mol = Chem.MolFromSmiles(text, sanitize=False)
    if mol is None:
        raise StandardizeError(f"unparseable SMILES (syntax error): {text!r}")
    try:
        Chem.SanitizeMol(mol)
    except Exception as error:  # RDKit raises several sanitization exception types
        raise StandardizeError(f"unparseable SMILES (sanitization: {error}): {text!r}") from None
    return mol


def parse_molblock(block: str) -> Chem.Mol:
    """Parse and sanitize one SDF record (hydrogens removed, as RDKit reads SDF), raising
    StandardizeError with RDKit's own reason."""
    try:
        mol = Chem.MolFromMolBlock(block)
        raw = None if mol is not None else Chem.MolFromMolBlock(block, sanitize=False)
    except Exception as error:  # RDKit raises on some malformed blocks instead of returning None
        raise StandardizeError(f"unreadable SDF record: {error}") from None
    if mol is None and raw is None:
        raise StandardizeError("unreadable SDF record (malformed molblock)")
    if mol is None:
        try:
            Chem.SanitizeMol(raw)
        except Exception as error:
            raise StandardizeError(f"SDF record fails sanitization: {error}") from None
        raise StandardizeError("unreadable SDF record (RDKit could not read it)")
    if mol.GetNumAtoms() == 0:
        raise StandardizeError("SDF record has no atoms")
    return mol


@dataclass
class Standardizer:
    """Holds the (reusable, costly to build) MolStandardize objects of one worker."""

    tautomer: bool = False
    _chooser: object = field(init=False, repr=False)
    _uncharger: object = field(init=False, repr=False)
    _enumerator: object = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._chooser = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
        self._uncharger = rdMolStandardize.Uncharger(canonicalOrder=True)
        self._enumerator = rdMolStandardize.TautomerEnumerator() if self.tautomer else None

    def __call__(self, mol: Chem.Mol) -> Chem.Mol:
        """Return the standardized parent molecule; StandardizeError when nothing usable is left."""
        try:
            mol = rdMolStandardize.Cleanup(mol)
            mol = self._chooser.choose(mol)
            mol = self._uncharger.uncharge(mol)
            if self._enumerator is not None:
                mol = self._enumerator.Canonicalize(mol)
        except Exception as error:
            raise StandardizeError(f"standardization failed: {error}") from None
        if mol is None or mol.GetNumAtoms() == 0:
            raise StandardizeError("standardization left no atoms")
        return mol


def identity(mol: Chem.Mol) -> tuple[str, str]:
    """Canonical isomeric SMILES and InChIKey of a standardized molecule."""
    key = Chem.MolToInchiKey(mol)
    if not key:
        raise StandardizeError("InChIKey generation failed")
    return Chem.MolToSmiles(mol), key
