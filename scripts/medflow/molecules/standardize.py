"""Molecule standardization with RDKit's MolStandardize: the same molecule always gets the same form.

Steps: parse and sanitize, cleanup (normalize groups, disconnect metals), keep the largest organic
fragment (strips salts and solvents; the removed fragments are kept for the tables), neutralize
charges, optionally pick the canonical tautomer. A parent with no carbon atom (NaCl, water,
cisplatin's ammonia, a bare metal) and a canonical SMILES that RDKit cannot read back (some ionic
organometallics: [Fe+2].c1cc[cH-]c1.c1cc[cH-]c1 gives c1cccc1) are rejects.

RDKit's FragmentRemover (its default salt list) is not used: on the counter-ions where the largest
fragment is the wrong choice (pamoate, larger than pyrantel or oxantel) it removes nothing
either, so those stay a known limit, visible in the removed_fragments column.
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
        hint = " (it holds a comma: is a comma-separated file named .smi?)" if "," in text else ""
        raise StandardizeError(f"unparseable SMILES (syntax error): {text!r}{hint}")
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


def removed_fragments(fragments: list[str], kept: str) -> list[str]:
    """The fragments' SMILES less one copy of the kept one: what salt stripping removed."""
    removed = list(fragments)
    if kept in removed:
        removed.remove(kept)
    return sorted(removed)


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
        return self.parent(mol)[0]

    def parent(self, mol: Chem.Mol) -> tuple[Chem.Mol, list[str]]:
        """(standardized parent molecule, SMILES of the fragments salt stripping removed);
        StandardizeError when nothing usable (organic) is left."""
        try:
            mol = rdMolStandardize.Cleanup(mol)
            several = len(Chem.GetMolFrags(mol)) > 1  # atom indices only: cheap
            fragments = (
                [Chem.MolToSmiles(f) for f in Chem.GetMolFrags(mol, asMols=True)] if several else []
            )
            mol = self._chooser.choose(mol)
            removed = removed_fragments(fragments, Chem.MolToSmiles(mol)) if several else []
            mol = self._uncharger.uncharge(mol)
            if self._enumerator is not None:
                mol = self._enumerator.Canonicalize(mol)
        except Exception as error:
            raise StandardizeError(f"standardization failed: {error}") from None
        if mol is None or mol.GetNumAtoms() == 0:
            raise StandardizeError("standardization left no atoms")
        if not any(atom.GetAtomicNum() == 6 for atom in mol.GetAtoms()):
            raise StandardizeError(
                "no organic fragment (no carbon atom) after salt stripping: the parent is "
                f"{Chem.MolToSmiles(mol)!r}"
            )
        return mol, removed


def identity(mol: Chem.Mol) -> tuple[str, str]:
    """Canonical isomeric SMILES and InChIKey of a standardized molecule."""
    key = Chem.MolToInchiKey(mol)
    if not key:
        raise StandardizeError("InChIKey generation failed")
    smiles = Chem.MolToSmiles(mol)
    if Chem.MolFromSmiles(smiles) is None:
        raise StandardizeError(
            f"the standardized SMILES {smiles!r} does not parse back in RDKit (e.g. an ionic "
            "organometallic whose ring cannot be kekulized once the metal is cut off); give the "
            "molecule in another form"
        )
    return smiles, key
