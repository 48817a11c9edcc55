"""Standardization: salts and solvents stripped, charges neutralized, clear reasons for bad SMILES."""

import pytest
from rdkit import Chem

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
        ("CCO,1", r"holds a comma, which SMILES do not: if this came from a \.smi file"),
        # RDKit reads what follows a space as a name: triethylamine would become diethylamine
        ("CCN(CC) CC", r"SMILES holds a space: 'CCN\(CC\) CC'; RDKit would read only 'CCN\(CC\)'"),
    ],
)
def test_bad_smiles_give_the_reason(smiles, message):
    with pytest.raises(StandardizeError, match=message):
        parse_smiles(smiles)


@pytest.mark.parametrize(
    "smiles",
    ["[Na+].[Cl-]", "O", "N.N.Cl[Pt]Cl", "[Cu]", "[H][H]", "[Na+].[Na+].[O-]S([O-])(=O)=O"],
)
def test_no_carbon_after_salt_stripping_is_a_standardize_error(smiles):
    with pytest.raises(StandardizeError, match=r"no organic fragment \(no carbon atom\)"):
        Standardizer()(parse_smiles(smiles))


def test_a_standardized_smiles_that_does_not_parse_back_is_an_error():
    mol = Standardizer()(parse_smiles("[Fe+2].c1cc[cH-]c1.c1cc[cH-]c1"))
    with pytest.raises(StandardizeError, match="does not parse back"):
        identity(mol)


@pytest.mark.parametrize(
    ("smiles", "said"),
    [
        ("*CC", "1 dummy, R-group or query atom"),
        ("[*:1]c1ccccc1[*:2]", "2 dummy, R-group or query atom"),
        ("C" * 1100, "1100 atoms, over InChI's limit of 1023"),
    ],
)
def test_molecules_inchi_cannot_describe_say_why(smiles, said):
    with pytest.raises(StandardizeError, match=f"InChIKey generation failed: {said}"):
        identity(Standardizer()(parse_smiles(smiles)))


def test_removed_fragments_are_reported():
    pamoate = "OC(=O)c1cc2ccccc2c(Cc2c(O)c(C(O)=O)cc3ccccc23)c1O.CN1CCCN=C1/C=C/c1cccs1"
    _mol, removed = Standardizer().parent(parse_smiles(pamoate))
    assert removed == ["O=C(O)c1cc2ccccc2c(Cc2c(O)c(C(=O)O)cc3ccccc23)c1O"]
    assert Standardizer().parent(parse_smiles("[Na+].[Na+].CC(=O)[O-].CC(=O)[O-]"))[1] == [
        "CC(=O)[O-]",
        "[Na+]",
        "[Na+]",
    ]
    assert Standardizer().parent(parse_smiles("CCO"))[1] == []


@pytest.mark.parametrize(
    ("salt", "parent"),
    [
        # counter-ions larger than the drug: pyrantel pamoate, hydroxyzine pamoate, piperazine
        # citrate, amphetamine saccharate
        (
            "OC(=O)c1cc2ccccc2c(Cc2c(O)c(C(O)=O)cc3ccccc23)c1O.CN1CCCN=C1/C=C/c1cccs1",
            "CN1CCCN=C1/C=C/c1cccs1",
        ),
        (
            "[O-]C(=O)c1cc2ccccc2c(Cc2c(O)c(C([O-])=O)cc3ccccc23)c1O."
            "OCCOCCN1CC[NH+](CC1)C(c1ccccc1)c1ccc(Cl)cc1",
            "OCCOCCN1CCN(C(c2ccccc2)c2ccc(Cl)cc2)CC1",
        ),
        ("C1CNCCN1.OC(=O)CC(O)(CC(=O)O)C(=O)O", "C1CNCCN1"),
        ("CC(N)Cc1ccccc1.OC(=O)C(O)C(O)C(O)C(O)C(=O)O", "CC(N)Cc1ccccc1"),
        # a protonated base as the counter-ion: lysine acetylsalicylate
        ("[NH3+]CCCCC([NH3+])C(=O)[O-].CC(=O)Oc1ccccc1C(=O)[O-]", "CC(=O)Oc1ccccc1C(=O)O"),
        # nothing but counter-ions organic: the salt's own acid stays (disodium pamoate, tosylate)
        (
            "[Na+].[Na+].[O-]C(=O)c1cc2ccccc2c(Cc2c(O)c(C([O-])=O)cc3ccccc23)c1O",
            "O=C(O)c1cc2ccccc2c(Cc2c(O)c(C(=O)O)cc3ccccc23)c1O",
        ),
        ("[Na+].Cc1ccc(cc1)S([O-])(=O)=O", "Cc1ccc(S(=O)(=O)O)cc1"),
        # two drugs, neither a salt former: the larger is kept, as before
        ("CC(=O)Nc1ccc(O)cc1.CN1C(=O)N(C)c2ncn(C)c2C1=O", "Cn1c(=O)c2c(ncn2C)n(C)c1=O"),
    ],
)
def test_counter_ions_go_before_the_largest_fragment_is_chosen(salt, parent):
    mol, removed = Standardizer().parent(parse_smiles(salt))
    assert Chem.MolToSmiles(mol) == Chem.MolToSmiles(Chem.MolFromSmiles(parent))
    assert removed


def test_cleanup_is_rdkits_cleanup_bit_for_bit():
    """Standardizer.cleanup reuses its MolStandardize objects; with metals: disconnect the molecules
    it gives are rdMolStandardize.Cleanup's, on NCI molecules and on metals, charges and stereo."""
    import os

    from rdkit import RDConfig
    from rdkit.Chem.MolStandardize import rdMolStandardize

    with open(os.path.join(RDConfig.RDDataDir, "NCI", "first_5K.smi")) as handle:
        smiles = [line.split()[0] for line in handle][:1500]
    smiles += [
        "CCCC(CCC)C(=O)O[Na]",
        "N.N.O=C1O[Pt]OC(=O)C12CCC2",
        "CN(C)C[C-]12C3=C4C5=C1[Fe++]23456789[C-]%10C6=C7C8=C9%10",
        "N#C[Fe-2](C#N)(C#N)(C#N)(C#N)N=O.[Na+].[Na+]",
        "C[C@H](N)C(=O)[O-].[NH4+]",
        "F/C=C/F",
        "[2H]C([2H])([2H])N",
    ]
    standardizer = Standardizer(metals="disconnect")
    compared = 0
    for text in smiles:
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            continue
        expected = Chem.MolToSmiles(rdMolStandardize.Cleanup(mol))
        assert Chem.MolToSmiles(standardizer.cleanup(mol)) == expected, text
        compared += 1
    assert compared > 1400


@pytest.mark.parametrize(
    ("given", "keep", "disconnect"),
    [
        # carboplatin: the platinum complex, or (RDKit's MolVS rules) its dicarboxylic acid ligand
        ("N.N.O=C1O[Pt]OC(=O)C12CCC2", "O=C1[O][Pt][O]C(=O)C12CCC2", "O=C(O)C1(C(=O)O)CCC1"),
        # oxaliplatin stays whole, or gives its diaminocyclohexane ligand
        ("O=C1O[Pt]2(NC3CCCCC3N2)OC1=O", "O=C1[O][Pt]2([NH]C3CCCCC3[NH]2)[O]C1=O", "NC1CCCCC1N"),
        # salts drawn with a bond to an alkali or alkaline-earth metal are salts either way
        ("CCCC(CCC)C(=O)O[Na]", "CCCC(CCC)C(=O)O", "CCCC(CCC)C(=O)O"),
        (
            "OCC(O)C(O)C(O)C(O)C(=O)O[Ca]OC(=O)C(O)C(O)C(O)C(O)CO",
            "O=C(O)C(O)C(O)C(O)C(O)CO",
            "O=C(O)C(O)C(O)C(O)C(O)CO",
        ),
        # bonds of alkali metals to carbon too (a drawn sodium acetylide; MolVS's rules keep them;
        # a drawn sodium cyanide is HCN then, an inorganic parent: see below)
        ("[Na]C#Cc1ccccc1", "C#Cc1ccccc1", "[Na][C]#Cc1ccccc1"),
        # an ionic salt of a transition metal keeps its organic part either way
        ("[Fe+2].[O-]C(=O)/C=C/C([O-])=O", "O=C(O)/C=C/C(=O)O", "O=C(O)/C=C/C(=O)O"),
    ],
)
def test_metal_complexes_stay_whole_unless_asked_to_disconnect(given, keep, disconnect):
    for metals, expected in (("keep", keep), ("disconnect", disconnect)):
        parent = Standardizer(metals=metals)(parse_smiles(given))
        assert identity(parent)[0] == expected, metals


def test_unknown_metals_setting_is_refused():
    with pytest.raises(ValueError, match="metals must be one of"):
        Standardizer(metals="strip")


def test_a_cxsmiles_block_after_a_space_is_read():
    assert parse_smiles("C[C@H](O)CC |&1:1|").GetNumAtoms() == 5


def test_control_characters_in_ids_are_written_as_escapes():
    from medflow.molecules.io import clean_id

    assert clean_id("eth\x00anol") == "eth\\x00anol"
    assert clean_id("ethyl\x1b[31mamine\u2028x") == "ethyl\\x1b[31mamine\\u2028x"
    assert clean_id(" caf\u00e9\tno 1\r\n") == "caf\u00e9 no 1"


def test_mol2_or_pdb_text_in_an_sdf_record_is_named():
    from medflow.molecules.standardize import parse_molblock

    mol2 = "@<TRIPOS>MOLECULE\nethanol\n 3 2\n@<TRIPOS>ATOM\n1 C1 0 0 0 C.3\n"
    with pytest.raises(StandardizeError, match=r"the text is MOL2, not SDF: convert it"):
        parse_molblock(mol2)
    pdb = "HEADER    X\nATOM      1  C   LIG A   1       0.000   0.000   0.000  1.00  0.00           C\nEND\n"
    with pytest.raises(StandardizeError, match=r"the text is PDB, not SDF"):
        parse_molblock(pdb)


def test_atom_maps_leave_no_trace_in_the_canonical_smiles():
    assert standard_smiles("[CH3:1][C:2](=[O:3])[NH:4]c1ccc(O)cc1") == "CC(=O)Nc1ccc(O)cc1"


@pytest.mark.parametrize("group", ["&1", "o1"])
def test_a_racemic_or_unknown_enantiomer_is_not_the_pure_enantiomer_drawn(group):
    pure = identity(Standardizer()(parse_smiles("C[C@H](N)c1ccccc1")))
    relative = identity(Standardizer()(parse_smiles(f"C[C@H](N)c1ccccc1 |{group}:1|")))
    assert relative == identity(Standardizer()(parse_smiles("CC(N)c1ccccc1")))
    assert relative[1] != pure[1] and pure[0] == "C[C@H](N)c1ccccc1"
    # an absolute group keeps its centres
    absolute = identity(Standardizer()(parse_smiles("C[C@H](N)c1ccccc1 |a:1|")))
    assert absolute == pure


@pytest.mark.parametrize(
    "smiles",
    ["[Li+].[Li+].[O-]C([O-])=O", "[K+].[C-]#N", "O=C=O", "[Na+].[O-]C#N", "[K+].[S-]C#N"],
)
def test_inorganic_carbon_salts_are_no_organic_fragment(smiles):
    with pytest.raises(
        StandardizeError, match=r"no organic fragment \(carbon only as an inorganic"
    ):
        Standardizer()(parse_smiles(smiles))


@pytest.mark.parametrize("smiles", ["NC(N)=O", "OC=O", "NC=O", "CO", "CC#N"])
def test_small_organic_molecules_stay_organic(smiles):
    assert Standardizer()(parse_smiles(smiles)).GetNumAtoms() >= 2


@pytest.mark.parametrize(
    "smiles", ["[CH3]", "[CH2]", "[C]", "CC(C)(C)[O]", "c1ccccc1[CH2]", "[C-]"]
)
def test_radicals_and_carbenes_are_rejects(smiles):
    with pytest.raises(StandardizeError, match=r"unpaired electron\(s\) \(a radical or carbene"):
        Standardizer()(parse_smiles(smiles))


def test_the_canonical_tautomer_keeps_stereocentres_it_leaves_sp3():
    """The enumerator's defaults cleared the alpha carbon's stereo: L- and D-alanine, and
    dexibuprofen and its enantiomer, were merged as one molecule."""
    assert standard_smiles("C[C@H](N)C(=O)O", tautomer=True) == "C[C@H](N)C(=O)O"
    assert standard_smiles("C[C@@H](N)C(=O)O", tautomer=True) == "C[C@@H](N)C(=O)O"
    assert standard_smiles("C/C=C/C(C)=O", tautomer=True) == "C/C=C/C(C)=O"
    assert standard_smiles("Oc1ccccn1", tautomer=True) == "O=c1cccc[nH]1"


@pytest.mark.parametrize(("smiles", "metal"), [("CCCC[Li]", "Li"), ("C[Mg]Br", "Mg")])
def test_organometallic_reagents_are_rejects_not_their_hydrocarbons(smiles, metal):
    with pytest.raises(StandardizeError, match=f"organometallic reagent \\(a {metal}-C bond"):
        Standardizer()(parse_smiles(smiles))
    assert standard_smiles("[Na]C#CC") == "C#CC"  # an acetylide stays a salt


def test_a_record_shifted_by_a_blank_line_says_so():
    from medflow.molecules.standardize import parse_molblock

    block = Chem.MolToMolBlock(Chem.MolFromSmiles("CCO"))
    assert parse_molblock(block).GetNumAtoms() == 3
    with pytest.raises(StandardizeError, match=r"counts line is line 5, not 4: 1 extra line"):
        parse_molblock("\n" + block)
