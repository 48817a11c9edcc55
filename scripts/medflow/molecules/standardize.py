"""Molecule standardization with RDKit's MolStandardize: the same molecule always gets the same form.

Steps: parse and sanitize, cleanup (remove hydrogens, disconnect metals, normalize groups,
reionize: RDKit's Cleanup steps, with objects built once, see Standardizer.cleanup), keep the
largest organic fragment (strips salts and solvents; the removed fragments are kept for the
tables), neutralize charges, optionally pick the canonical tautomer. A parent with no carbon atom
(NaCl, water, cisplatin's ammonia, a bare metal) and a canonical SMILES that RDKit cannot read back
(some ionic organometallics: [Fe+2].c1cc[cH-]c1.c1cc[cH-]c1 gives c1cccc1) are rejects.

Metals (`metals`): 'keep' (the default) breaks only the bonds of the alkali and alkaline-earth
metals (Li to Cs, Be to Ba) to nonmetals, carbon included, which are salts drawn with a bond
(sodium valproate as CCCC(CCC)C(=O)O[Na], magnesium stearate, sodium cyanide as [Na]C#N), as the ChEMBL structure pipeline does for Li, Na and K;
complexes and organometallics of the other metals stay whole, so carboplatin is its platinum
complex, not its cyclobutanedicarboxylic acid ligand, and the screen's METALS alert
(medflow.molecules.screen) names it. 'disconnect' is RDKit's MetalDisconnector as Cleanup runs it
(MolVS's rules): every metal's bonds to N, O, F and most other nonmetals are broken and the largest
organic fragment, a ligand, is kept.

Before the largest fragment is chosen, the fragments that are pharmaceutical counter-ions
(COUNTER_IONS, in any charge state) are set aside when a fragment that is not one remains: the
largest fragment alone keeps pamoic acid from pyrantel or hydroxyzine pamoate and citric acid from
piperazine citrate, where the counter-ion is the larger. RDKit's FragmentRemover (its default salt
list) does not list pamoate, citrate or the other organic acids and bases below, so it is not used.
"""

import functools
from dataclasses import dataclass, field

from rdkit import Chem, RDLogger
from rdkit.Chem.MolStandardize import rdMolStandardize

RDLogger.DisableLog("rdApp.*")

# The alkali and alkaline-earth metals' bonds to nonmetals: the bonds `metals: keep` breaks.
# Carbon too: a sodium cyanide or acetylide drawn as [Na]C#N is a salt, not an organic molecule
# holding a metal (the METALS alert does not name these metals, so it would pass as a hit).
SALT_BONDS = "[Li,Na,K,Rb,Cs,Be,Mg,Ca,Sr,Ba]~[#5,#6,#7,#8,#9,#15,#16,#17,#34,#35,#53]"
NOTHING = "[#0&#1]~[#0&#1]"  # a bond pattern no molecule has
# An alkali or alkaline-earth metal bound to a carbon that is not triple-bonded: an organolithium,
# a Grignard reagent, a sodium cyclopentadienide. Breaking that bond as a salt's (SALT_BONDS)
# would leave the bare hydrocarbon (n-BuLi gave butane, MeMgBr methane) as a "drug"; a cyanide or
# acetylide ([Na]C#N, [Na]C#CC) stays a salt.
ORGANOMETALLIC_REAGENT = Chem.MolFromSmarts("[Li,Na,K,Rb,Cs,Be,Mg,Ca,Sr,Ba]~[#6;!$([#6]#*)]")
METAL_MODES = ("keep", "disconnect")  # the choices of molecules.metals

# The acids and bases of approved drug salts (Stahl & Wermuth, Handbook of Pharmaceutical Salts;
# Paulekuhn et al., J. Med. Chem. 2007, 50, 6665: the FDA Orange Book's salt formers), neutral
# forms. A fragment whose uncharged, stereo-free SMILES is one of these is a counter-ion unless
# nothing else organic is left (sodium tosylate keeps its tosylate, lysine acetylsalicylate loses
# the lysine). Drugs that also serve as counter-ions (procaine, piperazine, salicylic acid) are
# not listed: which of two drugs to keep is not a salt question; nor are salt formers that come
# more often as excipients or ligands and never outweigh their drug (stearic acid, as in
# erythromycin stearate; ethylenediamine, as in aminophylline and in metal complexes).
COUNTER_IONS = {
    "pamoic acid (embonate)": "OC(=O)c1cc2ccccc2c(Cc2c(O)c(C(=O)O)cc3ccccc23)c1O",
    "naphthalene-1,5-disulfonic acid (napadisylate)": "OS(=O)(=O)c1cccc2c(S(=O)(=O)O)cccc12",
    "naphthalene-2-sulfonic acid (napsylate)": "OS(=O)(=O)c1ccc2ccccc2c1",
    "1-hydroxy-2-naphthoic acid (xinafoate)": "OC(=O)c1ccc2ccccc2c1O",
    "camphorsulfonic acid (camsylate)": "CC1(C)C2CCC1(CS(=O)(=O)O)C(=O)C2",
    "benzenesulfonic acid (besylate)": "OS(=O)(=O)c1ccccc1",
    "p-toluenesulfonic acid (tosylate)": "Cc1ccc(S(=O)(=O)O)cc1",
    "methanesulfonic acid (mesylate)": "CS(=O)(=O)O",
    "ethanesulfonic acid (esylate)": "CCS(=O)(=O)O",
    "ethane-1,2-disulfonic acid (edisylate)": "OS(=O)(=O)CCS(=O)(=O)O",
    "isethionic acid": "OCCS(=O)(=O)O",
    "lauryl sulfuric acid (estolate)": "CCCCCCCCCCCCOS(=O)(=O)O",
    "maleic or fumaric acid": "OC(=O)C=CC(=O)O",
    "tartaric acid": "OC(=O)C(O)C(O)C(=O)O",
    "citric acid": "OC(=O)CC(O)(CC(=O)O)C(=O)O",
    "succinic acid": "OC(=O)CCC(=O)O",
    "malic acid": "OC(=O)CC(O)C(=O)O",
    "lactic acid": "CC(O)C(=O)O",
    "acetic acid": "CC(=O)O",
    "formic acid": "OC=O",
    "oxalic acid": "OC(=O)C(=O)O",
    "trifluoroacetic acid": "OC(=O)C(F)(F)F",
    "gluconic acid": "OCC(O)C(O)C(O)C(O)C(=O)O",
    "glucaric acid (saccharate)": "OC(=O)C(O)C(O)C(O)C(O)C(=O)O",
    "glucoheptonic acid (gluceptate)": "OCC(O)C(O)C(O)C(O)C(O)C(=O)O",
    "lactobionic acid": "OCC1OC(OC(C(O)CO)C(O)C(O)C(=O)O)C(O)C(O)C1O",
    "hippuric acid": "OC(=O)CNC(=O)c1ccccc1",
    "meglumine": "CNCC(O)C(O)C(O)C(O)CO",
    "tromethamine": "NC(CO)(CO)CO",
    "diethanolamine": "OCCNCCO",
    "ethanolamine (olamine)": "NCCO",
    "choline": "C[N+](C)(C)CCO",
    "benzathine": "C(CNCc1ccccc1)NCc1ccccc1",
    "tert-butylamine (erbumine)": "CC(C)(C)N",
    "diethylamine": "CCNCC",
    "triethylamine": "CCN(CC)CC",
    "dicyclohexylamine": "C1CCC(NC2CCCCC2)CC1",
    "lysine": "NCCCCC(N)C(=O)O",
    "arginine": "N=C(N)NCCCC(N)C(=O)O",
}


def heavy_atoms(mol: Chem.Mol) -> tuple[int, ...]:
    """The atomic numbers of a molecule's heavy atoms, sorted (its formula less hydrogen)."""
    return tuple(sorted(atom.GetAtomicNum() for atom in mol.GetAtoms() if atom.GetAtomicNum() > 1))


class StandardizeError(ValueError):
    """A molecule that cannot be parsed or standardized; the message is the rejects reason."""


def parse_smiles(smiles: str) -> Chem.Mol:
    """Parse and sanitize a SMILES string, raising StandardizeError with RDKit's own reason."""
    text = smiles.strip()
    if not text:
        raise StandardizeError("empty SMILES")
    words = text.split(maxsplit=1)
    # one line with a space inside (a CXSMILES |...| block may follow one); text over several
    # lines is no SMILES at all: RDKit's syntax error below says so
    if len(words) == 2 and "\n" not in text and not words[1].startswith("|"):
        raise StandardizeError(
            f"SMILES holds a space: {text!r}; RDKit would read only {words[0]!r} and take the "
            "rest as a name, a different molecule. Remove the space (a name belongs in the ID "
            "column)"
        )
    mol = Chem.MolFromSmiles(text, sanitize=False)
    if mol is None:
        hint = (
            " (it holds a comma, which SMILES do not: if this came from a .smi file, is the file "
            "comma-separated? Name it .csv)"
            if "," in text
            else ""
        )
        raise StandardizeError(f"unparseable SMILES (syntax error): {text!r}{hint}")
    try:
        Chem.SanitizeMol(mol)
    except Exception as error:  # RDKit raises several sanitization exception types
        raise StandardizeError(f"unparseable SMILES (sanitization: {error}): {text!r}") from None
    return mol


def swapped_hint(mol_id: str) -> str:
    """A hint for a record whose SMILES did not parse but whose ID reads as a molecule of two or
    more atoms: a .smi file with its columns swapped (ID first, SMILES second); else ''."""
    text = str(mol_id).strip()
    if not text or " " in text:
        return ""
    mol = Chem.MolFromSmiles(text, sanitize=False)
    if mol is None or mol.GetNumAtoms() < 2:
        return ""
    return (
        f" (its ID {text!r} reads as a SMILES: are the two columns swapped? A .smi line holds "
        "the SMILES first, then the ID)"
    )


def other_format(block: str) -> str:
    """A hint when an SDF record is text of another structure format (MOL2, PDB), else ''."""
    if "@<TRIPOS>" in block:
        found = "MOL2"
    elif any(line.startswith(("ATOM  ", "HETATM", "HEADER")) for line in block.splitlines()):
        found = "PDB"
    else:
        return shifted_header(block)
    return f"; the text is {found}, not SDF: convert it, for example `obabel IN -O OUT.sdf`"


def shifted_header(block: str) -> str:
    """A hint when a record's counts line (V2000/V3000) comes after the 4th line: blank lines
    before the record (an extra one after the '$$$$' line) push its 3-line header down, else ''."""
    lines = block.splitlines()
    at = next((i for i, line in enumerate(lines[:8]) if line.rstrip().endswith(COUNTS_TAGS)), None)
    if at is None or at <= 3:
        return ""
    return (
        f"; its counts line is line {at + 1}, not 4: {at - 3} extra line(s) before the record "
        "(a blank line after the '$$$$' line, say) shift its header; remove them"
    )


COUNTS_TAGS = ("V2000", "V3000")


def parse_molblock(block: str) -> Chem.Mol:
    """Parse and sanitize one SDF record (hydrogens removed, as RDKit reads SDF), raising
    StandardizeError with RDKit's own reason."""
    try:
        mol = Chem.MolFromMolBlock(block)
        raw = None if mol is not None else Chem.MolFromMolBlock(block, sanitize=False)
    except Exception as error:  # RDKit raises on some malformed blocks instead of returning None
        raise StandardizeError(f"unreadable SDF record: {error}") from None
    if mol is None and raw is None:
        raise StandardizeError(f"unreadable SDF record (malformed molblock{other_format(block)})")
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
    metals: str = "keep"
    _chooser: object = field(init=False, repr=False)
    _uncharger: object = field(init=False, repr=False)
    _enumerator: object = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.metals not in METAL_MODES:
            raise ValueError(f"metals must be one of {METAL_MODES}, not {self.metals!r}")
        self._disconnector = rdMolStandardize.MetalDisconnector()
        if self.metals == "keep":
            self._disconnector.SetMetalNof(Chem.MolFromSmarts(SALT_BONDS))
            self._disconnector.SetMetalNon(Chem.MolFromSmarts(NOTHING))
        self._normalizer = rdMolStandardize.Normalizer()
        self._reionizer = rdMolStandardize.Reionizer()
        self._chooser = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
        self._uncharger = rdMolStandardize.Uncharger(canonicalOrder=True)
        self._enumerator = tautomer_enumerator() if self.tautomer else None
        counter_ions = [Chem.MolFromSmiles(smiles) for smiles in COUNTER_IONS.values()]
        self._counter_ions = frozenset(map(self._plain_smiles, counter_ions))
        self._counter_ion_atoms = frozenset(map(heavy_atoms, counter_ions))

    def _plain_smiles(self, fragment: Chem.Mol) -> str:
        """The uncharged, stereo-free canonical SMILES of a fragment (how counter-ions match)."""
        return Chem.MolToSmiles(self._uncharger.uncharge(fragment), isomericSmiles=False)

    def is_counter_ion(self, fragment: Chem.Mol) -> bool:
        """Whether a fragment is one of COUNTER_IONS in any charge state. Its heavy atoms, which
        charges do not change, are compared first: the Uncharger costs a millisecond a fragment."""
        return (
            heavy_atoms(fragment) in self._counter_ion_atoms
            and self._plain_smiles(fragment) in self._counter_ions
        )

    def without_counter_ions(self, fragments: tuple[Chem.Mol, ...]) -> tuple[Chem.Mol, ...]:
        """The fragments less the counter-ions (COUNTER_IONS), when an organic fragment that is
        not one remains; all of them otherwise."""
        kept = tuple(f for f in fragments if not self.is_counter_ion(f))
        if any(atom.GetAtomicNum() == 6 for f in kept for atom in f.GetAtoms()):
            return kept
        return fragments

    def __call__(self, mol: Chem.Mol) -> Chem.Mol:
        """Return the standardized parent molecule; StandardizeError when nothing usable is left."""
        return self.parent(mol)[0]

    def cleanup(self, mol: Chem.Mol) -> Chem.Mol:
        """rdMolStandardize.Cleanup's steps (remove Hs, disconnect metals, normalize, reionize,
        assign stereochemistry) with this worker's objects: with `metals` 'disconnect' the same
        molecule, bit for bit (every NCI first_5K molecule checked), at about half the cost, since
        Cleanup builds its Normalizer's transforms again for every molecule; with 'keep' only the
        SALT_BONDS are broken."""
        mol = Chem.RWMol(Chem.RemoveHs(mol))
        self._disconnector.DisconnectInPlace(mol)
        self._normalizer.normalizeInPlace(mol)
        self._reionizer.reionizeInPlace(mol)
        Chem.AssignStereochemistry(mol)
        return mol

    def parent(self, mol: Chem.Mol) -> tuple[Chem.Mol, list[str]]:
        """(standardized parent molecule, SMILES of the fragments salt stripping removed);
        StandardizeError when nothing usable (organic) is left."""
        reagent = mol.GetSubstructMatch(ORGANOMETALLIC_REAGENT)
        if reagent:
            metal = mol.GetAtomWithIdx(reagent[0]).GetSymbol()
            raise StandardizeError(
                f"an organometallic reagent (a {metal}-C bond, as in an organolithium or Grignard "
                "reagent): breaking it as a salt's would leave the bare hydrocarbon, so it is "
                "not standardized into a parent"
            )
        try:
            mol = self.cleanup(without_maps_or_relative_stereo(mol))
            several = len(Chem.GetMolFrags(mol)) > 1  # atom indices only: cheap
            parts = Chem.GetMolFrags(mol, asMols=True) if several else ()
            fragments = [Chem.MolToSmiles(f) for f in parts]
            kept = self.without_counter_ions(parts)
            if len(kept) < len(parts):
                mol = functools.reduce(Chem.CombineMols, kept)
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
        unpaired = sum(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms())
        if unpaired:
            raise StandardizeError(
                f"{unpaired} unpaired electron(s) (a radical or carbene, drawn so or left by a "
                f"charge the neutralizer could not undo): the parent is {Chem.MolToSmiles(mol)!r}, "
                "not a closed-shell molecule; draw it with its hydrogens if it is one"
            )
        if mol.GetNumAtoms() <= 4 and Chem.MolToSmiles(mol) in INORGANIC_CARBON:
            raise StandardizeError(
                "no organic fragment (carbon only as an inorganic carbonate, cyanide, carbon "
                f"oxide, cyanate or thiocyanate) after salt stripping: the parent is "
                f"{Chem.MolToSmiles(mol)!r}"
            )
        return mol, removed


def tautomer_enumerator() -> object:
    """RDKit's TautomerEnumerator that keeps stereo: by default it clears every sp3 centre and
    double bond next to a tautomeric group (an amino acid's alpha carbon), which merged L- and
    D-alanine, or dexibuprofen and its enantiomer, as one molecule. A centre that the canonical
    tautomer itself makes flat (a hydantoin's C5 in its aromatic form) is still lost."""
    params = rdMolStandardize.CleanupParameters()
    params.tautomerRemoveSp3Stereo = False
    params.tautomerRemoveBondStereo = False
    return rdMolStandardize.TautomerEnumerator(params)


def without_maps_or_relative_stereo(mol: Chem.Mol) -> Chem.Mol:
    """The molecule without atom-map numbers (reaction bookkeeping: `[CH3:1]` would stay in the
    canonical SMILES) and with the centres of enhanced-stereo AND (racemic, `&1`) and OR (one
    unknown enantiomer, `o1`) groups unspecified: the canonical SMILES and InChI carry no such
    groups, so a racemate would come out, and be merged, as the pure enantiomer drawn. Absolute
    centres stay. The input is not changed."""
    relative = [
        group
        for group in mol.GetStereoGroups()
        if group.GetGroupType() != Chem.StereoGroupType.STEREO_ABSOLUTE
    ]
    if not relative and not any(atom.GetAtomMapNum() for atom in mol.GetAtoms()):
        return mol
    mol = Chem.RWMol(mol)
    for atom in mol.GetAtoms():
        atom.SetAtomMapNum(0)
    for group in relative:
        for atom in group.GetAtoms():
            mol.GetAtomWithIdx(atom.GetIdx()).SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
    absolute = [
        g for g in mol.GetStereoGroups() if g.GetGroupType() == Chem.StereoGroupType.STEREO_ABSOLUTE
    ]
    mol.SetStereoGroups(absolute)
    return mol


# Parents whose one carbon is inorganic, as standardization writes them (neutralized): carbonic
# acid (lithium carbonate, sodium bicarbonate), HCN (cyanide salts), CO2, CO, cyanic and thiocyanic
# acids and their iso forms, CS2, COS. Urea, formic acid, formamide and methanol stay organic.
INORGANIC_CARBON = {
    "O=C(O)O",
    "C#N",
    "O=C=O",
    "[C-]#[O+]",
    "N#CO",
    "N=C=O",
    "N#CS",
    "N=C=S",
    "S=C=S",
    "O=C=S",
}
INCHI_MAX_ATOMS = 1023  # the InChI library's limit (its MAX_ATOMS is 1024)


def why_no_inchi(mol: Chem.Mol) -> str:
    """The likely reason RDKit's InChI gave no key for a molecule, for the rejects table."""
    dummies = sum(atom.GetAtomicNum() == 0 for atom in mol.GetAtoms())
    if dummies:
        return (
            f"{dummies} dummy, R-group or query atom(s) (*, R#, A, Q): a fragment or query, "
            "not a whole molecule; give the full structure"
        )
    if mol.GetNumAtoms() > INCHI_MAX_ATOMS:
        return (
            f"{mol.GetNumAtoms()} atoms, over InChI's limit of {INCHI_MAX_ATOMS} (a biopolymer?); "
            "medflow screens small molecules"
        )
    return "RDKit's InChI library gave no key (see the InChI warnings in the chunk's log)"


def identity(mol: Chem.Mol) -> tuple[str, str]:
    """Canonical isomeric SMILES and InChIKey of a standardized molecule."""
    key = Chem.MolToInchiKey(mol)
    if not key:
        raise StandardizeError(f"InChIKey generation failed: {why_no_inchi(mol)}")
    smiles = Chem.MolToSmiles(mol)
    if Chem.MolFromSmiles(smiles) is None:
        raise StandardizeError(
            f"the standardized SMILES {smiles!r} does not parse back in RDKit (e.g. an ionic "
            "organometallic whose ring cannot be kekulized once the metal is cut off); give the "
            "molecule in another form"
        )
    return smiles, key
