"""Reading molecule files: every format, and bad input as rejects rows or one clear error."""

import gzip

import mol_split
import pandas as pd
import pytest
from rdkit import Chem

from medflow.config import fill_and_validate
from medflow.molecules import io
from medflow.molecules.pipeline import process_frame
from medflow.step import InputError

SETTINGS = {
    "smiles_column": "smiles",
    "id_column": "id",
    "sdf_id_property": "_Name",
    "max_records": 0,
}


def read_file(path: str, settings: dict) -> tuple[list[dict], list[dict]]:
    rows = list(io.read_file(path, settings))
    return [r for r in rows if "reasons" not in r], [r for r in rows if "reasons" in r]


def split(inputs: list, folder, **settings) -> None:
    ctx = mol_split.STEP.context(
        input={"molecules": [str(p) for p in inputs]},
        output={"chunks": str(folder / "chunks"), "rejects": str(folder / "rej.csv")},
        overrides={f"molecules.{key}": value for key, value in settings.items()},
    )
    mol_split.main(ctx)


def sdf_text(*smiles: str, name_prefix: str = "m") -> str:
    blocks = []
    for i, smi in enumerate(smiles, start=1):
        mol = Chem.MolFromSmiles(smi)
        mol.SetProp("_Name", f"{name_prefix}{i}")
        mol.SetProp("code", f"C{i}")
        blocks.append(Chem.MolToMolBlock(mol) + f"> <code>\nC{i}\n\n$$$$\n")
    return "".join(blocks)


def test_smi_file_with_ids_header_comments_and_blank_lines(tmp_path):
    path = tmp_path / "a.smi"
    path.write_text("smiles name\nCCO ethanol\n\n# a comment\nc1ccccc1 benzene ring\nCCN\n")
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == []
    assert [(r["record"], r["id"], r["smiles"]) for r in records] == [
        (2, "ethanol", "CCO"),
        (5, "benzene ring", "c1ccccc1"),
        (6, f"{path}:6", "CCN"),
    ]


def test_cxsmiles_extensions_stay_with_their_smiles(tmp_path):
    path = tmp_path / "cx.smi"
    path.write_text("CCO |$a;b;c$| ethanol\nC[C@H](N)C(=O)O |&1:1|\nCCN amine |x|\n")
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == []
    assert [(r["id"], r["smiles"]) for r in records] == [
        ("ethanol", "CCO |$a;b;c$|"),
        (f"{path}:2", "C[C@H](N)C(=O)O |&1:1|"),
        ("amine |x|", "CCN"),
    ]


def test_gzipped_csv_and_tsv_with_configured_columns(tmp_path):
    csv_path = tmp_path / "a.csv.gz"
    with gzip.open(csv_path, "wt") as handle:
        handle.write("name,structure\nx,CCO\ny,\n")
    tsv_path = tmp_path / "b.tsv"
    tsv_path.write_text("structure\tname\nCCC\tz\n")
    settings = {**SETTINGS, "smiles_column": "structure", "id_column": "name"}
    records, rejects = read_file(str(csv_path), settings)
    assert [(r["id"], r["smiles"]) for r in records] == [("x", "CCO")]
    assert rejects[0]["record"] == 3 and rejects[0]["reasons"] == "empty SMILES field"
    records, _ = read_file(str(tsv_path), settings)
    assert [(r["id"], r["smiles"], r["record"]) for r in records] == [("z", "CCC", 2)]


@pytest.mark.parametrize(
    ("name", "text", "record", "said"),
    [
        # a missing SMILES column names the columns found and the setting to change
        (
            "a.csv",
            "name,structure\nx,CCO\n",
            1,
            ["no column 'smiles'", "name, structure", "molecules.smiles_column"],
        ),
        ("lib.smi.gz", "CCO ethanol\n", 0, ["the name ends in .gz but the file is not gzip"]),
    ],
)
def test_unreadable_file_is_one_rejects_row_saying_why(tmp_path, name, text, record, said):
    path = tmp_path / name
    path.write_text(text)
    records, rejects = read_file(str(path), SETTINGS)
    assert records == [] and len(rejects) == 1 and rejects[0]["record"] == record
    assert all(part in rejects[0]["reasons"] for part in said), rejects[0]["reasons"]


@pytest.mark.parametrize("name", ["empty.smi", "empty.csv", "empty.sdf", "empty.smi.gz"])
def test_empty_file_is_a_rejects_row(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt"):
            pass
    else:
        path.write_text("")
    records, rejects = read_file(str(path), SETTINGS)
    assert records == []
    assert [(r["record"], r["reasons"]) for r in rejects] == [
        (0, "empty file: no molecule records")
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [("head.smi", "smiles name\n"), ("head.csv", "id,smiles\r\n"), ("notes.smi", "# ZINC\n\n")],
)
def test_file_of_a_header_alone_is_a_rejects_row_not_called_empty(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    records, rejects = read_file(str(path), SETTINGS)
    assert records == []
    assert [(r["record"], r["reasons"]) for r in rejects] == [
        (0, "no molecule records: the file holds only a header line, comment or blank lines")
    ]


def processed_sdf(path, settings=SETTINGS) -> pd.DataFrame:
    """An SDF file read by the split and parsed by the per-chunk pipeline (where RDKit reads it)."""
    rows = list(io.read_file(str(path), settings))
    chunk = pd.DataFrame(rows, columns=io.CHUNK_COLUMNS).fillna("")
    filters = fill_and_validate({})["molecules"]["filters"]
    settings = {"tautomer": False, "descriptors": [], "filters": filters, "early_exit": True}
    return process_frame(chunk, settings, threads=1)


def test_sdf_records_ids_and_broken_records(tmp_path):
    good = sdf_text("CCO", "c1ccccc1")
    broken = "bad\n  RDKit\n\n  2  1  0  0  0  0  0  0  0  0999 V2000\nnot an atom line\n$$$$\n"
    path = tmp_path / "a.sdf.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(good + broken + sdf_text("CCC", name_prefix="last"))
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == [] and [r["id"] for r in records] == ["m1", "m2", "bad", "last1"]
    assert all(r["smiles"] == "" and r["molblock"].count("\n") > 3 for r in records)
    frame = processed_sdf(path)
    assert frame["input_smiles"].tolist() == ["CCO", "c1ccccc1", "", "CCC"]
    assert frame["stage"].tolist() == ["", "", "parse", ""]
    assert frame.loc[2, "record"] == good.count("\n") + 1
    assert frame.loc[2, "reasons"].startswith("unreadable SDF record")
    by_property, _ = read_file(str(path), {**SETTINGS, "sdf_id_property": "code"})
    ids = [r["id"] for r in by_property]
    assert ids == ["C1", "C2", f"{path}:{good.count(chr(10)) + 1}", "C1"]  # no 'code': FILE:LINE


def test_sdf_record_failing_sanitization_gives_rdkit_reason(tmp_path):
    pentavalent = Chem.MolFromSmiles("C(C)(C)(C)(C)C", sanitize=False)
    pentavalent.UpdatePropertyCache(strict=False)
    path = tmp_path / "a.sdf"
    path.write_text(Chem.MolToMolBlock(pentavalent, kekulize=False) + "$$$$\n" + sdf_text("CCO"))
    frame = processed_sdf(path)
    assert frame["input_smiles"].tolist() == ["", "CCO"] and frame.loc[0, "record"] == 1
    assert frame.loc[0, "reasons"].startswith("SDF record fails sanitization: Explicit valence")


def test_max_records_limits_each_file(tmp_path):
    path = tmp_path / "a.smi"
    path.write_text("".join(f"{'C' * i} m{i}\n" for i in range(1, 11)))
    records, _ = read_file(str(path), {**SETTINGS, "max_records": 4})
    assert [r["id"] for r in records] == ["m1", "m2", "m3", "m4"]


def test_main_writes_chunks_and_input_rejects(tmp_path):
    good = tmp_path / "a.smi"
    good.write_text("".join(f"{'C' * i} m{i}\n" for i in range(1, 6)))
    empty = tmp_path / "b.csv"
    empty.write_text("")
    split([good, empty], tmp_path, chunk_size=2)
    chunks = sorted((tmp_path / "chunks").iterdir())
    assert [c.name for c in chunks] == ["0001.parquet", "0002.parquet", "0003.parquet"]
    assert pd.read_parquet(chunks[0])["id"].tolist() == ["m1", "m2"]
    assert pd.read_parquet(chunks[-1])["id"].tolist() == ["m5"]
    rejects = pd.read_csv(tmp_path / "rej.csv")
    assert rejects["file"].tolist() == [str(empty)]
    assert rejects["reasons"].tolist() == ["empty file: no molecule records"]


def test_automatic_chunks_follow_the_library_size(tmp_path):
    assert io.chunk_size_for(30_000, 0) == 30_000  # one chunk: its job's pool uses every core
    assert io.chunk_size_for(120_000, 0) == 40_000  # equal chunks of at most 50,000
    assert io.chunk_size_for(1_000_000, 0) == 50_000
    assert io.chunk_size_for(1_000_000, 5000) == 5000
    path = tmp_path / "a.smi"
    path.write_text("smiles id\n" + "".join(f"{'C' * (i % 7 + 1)} m{i}\n" for i in range(120)))
    assert io.count_lines(str(path), None) == 121  # the header counts: sizing need not be exact
    split([path], tmp_path)
    chunks = sorted((tmp_path / "chunks").iterdir())
    assert [len(pd.read_parquet(c)) for c in chunks] == [120]


def test_no_usable_molecule_at_all_fails_with_a_clear_message(tmp_path):
    empty = tmp_path / "empty.smi"
    empty.write_text("")
    no_column = tmp_path / "wrong.csv"
    no_column.write_text("name,structure\nx,CCO\n")
    with pytest.raises(InputError) as error:
        split([empty, no_column], tmp_path)
    message = str(error.value)
    assert (
        "no usable molecule" in message
        and str(empty) in message
        and "no column 'smiles'" in message
    )


def test_truncated_gzip_keeps_the_records_before_the_break(tmp_path):
    path = tmp_path / "lib.smi.gz"
    data = gzip.compress("".join(f"{'C' * (i % 5 + 1)} m{i}\n" for i in range(5000)).encode())
    path.write_bytes(data[: len(data) // 2])
    records, rejects = read_file(str(path), SETTINGS)
    assert 0 < len(records) < 5000
    assert rejects[-1]["record"] == 0
    assert rejects[-1]["reasons"].startswith(f"unreadable file after {len(records)} records")


def test_a_line_that_is_not_utf8_is_a_rejects_row_and_the_others_are_read(tmp_path):
    path = tmp_path / "lib.smi"
    path.write_bytes(b"CCO ethanol\nCCN \xe9thylamine\nCCC propane\n")
    records, rejects = read_file(str(path), SETTINGS)
    assert [r["id"] for r in records] == ["ethanol", "propane"]
    assert [r["record"] for r in rejects] == [2]
    assert "line 2 is not UTF-8 text" in rejects[0]["reasons"]
    assert "save the file as UTF-8" in rejects[0]["reasons"]
    table = tmp_path / "lib.csv"
    table.write_bytes(b"id,smiles\na,CCO\n\xe9,CCN\nc,CCC\n")
    records, rejects = read_file(str(table), SETTINGS)
    assert [r["id"] for r in records] == ["a", "c"] and [r["record"] for r in rejects] == [3]
    sdf = tmp_path / "lib.sdf"
    # in the molblock (its title line): the record is a reject
    sdf.write_bytes(
        sdf_text("CCO").replace("m1", "\xe9").encode("latin-1") + sdf_text("CCN").encode()
    )
    records, rejects = read_file(str(sdf), SETTINGS)
    assert len(records) == 1 and rejects[0]["record"] == 1
    assert "of this SDF record is not UTF-8" in rejects[0]["reasons"]
    # in a data item (PubChem's names carry ® and °): that line only, the structure is read
    sdf.write_bytes(
        sdf_text("CCO").replace("C1", "\xe9").encode("latin-1") + sdf_text("CCN").encode()
    )
    records, rejects = read_file(str(sdf), SETTINGS)
    assert [r["id"] for r in records] == ["m1", "m1"] and rejects == []
    assert Chem.MolFromMolBlock(records[0]["molblock"]).GetNumAtoms() == 3


def test_utf16_library_is_one_rejects_row_naming_its_encoding(tmp_path):
    """A SMILES list saved as Windows 'Unicode text' (UTF-16) would read as SMILES and IDs with a
    NUL between their letters, every molecule then failing to parse: the file is one rejects row
    instead, saying what it is and how to save it, gzipped or not."""
    text = "smiles\tname\nCCO\tethanol\nc1ccccc1\tbenzene\n"
    for name, data in (
        ("lib.smi", text.encode("utf-16")),
        ("lib.smi.gz", gzip.compress(text.encode("utf-16"))),
        ("lib.csv", text.replace("\t", ",").encode("utf-16")),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        records, rejects = read_file(str(path), SETTINGS)
        assert records == [] and [r["record"] for r in rejects] == [0], name
        assert "the file is UTF-16 text" in rejects[0]["reasons"]
        assert "save it as UTF-8" in rejects[0]["reasons"]


def test_csv_with_tab_separated_header_says_the_extension_may_be_wrong(tmp_path):
    path = tmp_path / "lib.csv"
    path.write_text("id\tsmiles\nx\tCCO\n")
    _, rejects = read_file(str(path), SETTINGS)
    assert "is the file's extension right?" in rejects[0]["reasons"]


def test_header_with_byte_order_mark_and_spaces_is_read(tmp_path):
    path = tmp_path / "lib.csv"
    path.write_text("\ufeffid , smiles\nx,CCO\n")
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == [] and [(r["id"], r["smiles"]) for r in records] == [("x", "CCO")]


def test_smi_and_sdf_files_with_a_byte_order_mark_lose_nothing(tmp_path):
    smi = tmp_path / "lib.smi"
    smi.write_text("\ufeffCCO ethanol\r\nCCN\r\n", newline="")
    records, rejects = read_file(str(smi), SETTINGS)
    assert rejects == [] and [(r["id"], r["smiles"]) for r in records] == [
        ("ethanol", "CCO"),
        (f"{smi}:2", "CCN"),
    ]
    sdf = tmp_path / "lib.sdf"
    sdf.write_text("\ufeff" + sdf_text("CCO"))
    records, rejects = read_file(str(sdf), SETTINGS)
    assert rejects == [] and len(records) == 1


def test_a_quote_left_open_at_the_end_is_a_rejects_row(tmp_path):
    path = tmp_path / "lib.csv"
    path.write_text('id,smiles\nx,CCO\ny,"' + "C" * 200_000 + "\n")
    records, rejects = read_file(str(path), SETTINGS)
    assert [r["id"] for r in records] == ["x"]
    assert [r["record"] for r in rejects] == [3]
    assert rejects[0]["reasons"].startswith("unbalanced quote")


@pytest.mark.parametrize(
    "text",
    [
        # a quote in the SMILES column swallows the rest of the file
        'id,smiles\n1,CCO\n2,"CCN\n3,CCCO\n4,c1ccccc1\n5,CCCl\n6,CC(C)O\n',
        # a stray quote in a name column swallows rows until the next quote
        'id,smiles,name\n1,CCO,ethanol\n2,CCN,"ethylamine 2"" pure\n3,CCCO,propanol\n'
        '4,c1ccccc1,benzene\n5,CCCl,"chloro, ethane"\n6,CC(C)O,isopropanol\n',
    ],
)
def test_a_stray_quote_is_a_rejects_row_and_the_swallowed_lines_are_read(tmp_path, text):
    path = tmp_path / "lib.csv"
    path.write_text(text)
    records, rejects = read_file(str(path), SETTINGS)
    assert [r["id"] for r in records] == ["1", "3", "4", "5", "6"]
    assert [r["record"] for r in records] == [2, 4, 5, 6, 7]
    assert [(r["record"], r["id"]) for r in rejects] == [(3, "2")]
    reason = rejects[0]["reasons"]
    assert reason.startswith("unbalanced quote") and "opened on line 3" in reason
    assert not any("\n" in r["smiles"] for r in records)


def test_quoted_fields_with_line_breaks_stay_whole_and_ids_lose_their_breaks(tmp_path):
    path = tmp_path / "lib.csv"
    path.write_text('id,smiles,note\n"Cmpd 7\nbatch 2",CCO,"line1\nline2"\nB,CCN,x\nC\t1,CCC,y\n')
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == []
    assert [(r["record"], r["id"]) for r in records] == [
        (2, "Cmpd 7 batch 2"),
        (5, "B"),
        (6, "C 1"),
    ]


def test_only_sdf_records_are_read_as_molblocks():
    block = Chem.MolToMolBlock(Chem.MolFromSmiles("CCO"))
    chunk = pd.DataFrame(
        [["a.csv", 2, "x", block, ""], ["b.sdf", 1, "y", "", block]], columns=io.CHUNK_COLUMNS
    )
    filters = fill_and_validate({})["molecules"]["filters"]
    settings = {"tautomer": False, "descriptors": [], "filters": filters, "early_exit": True}
    frame = process_frame(chunk, settings, threads=1)
    assert frame["stage"].tolist() == ["parse", ""]  # a text file's SMILES is never a molblock
    assert "unparseable SMILES" in frame.loc[0, "reasons"]


def test_sdf_record_of_garbage_is_a_rejects_row(tmp_path):
    path = tmp_path / "lib.sdf"
    path.write_text("\x00\x01junk\n\n\n  x  y\n$$$$\n" + sdf_text("CCO"))
    frame = processed_sdf(path)
    assert frame["stage"].tolist() == ["parse", ""] and frame.loc[0, "record"] == 1
    assert "unreadable SDF record" in frame.loc[0, "reasons"]


def test_sdf_record_without_atoms_is_a_rejects_row(tmp_path):
    path = tmp_path / "lib.sdf"
    path.write_text(Chem.MolToMolBlock(Chem.Mol()) + "$$$$\n" + sdf_text("CCO"))
    frame = processed_sdf(path)
    assert frame.loc[0, "stage"] == "parse"
    assert frame.loc[0, "reasons"] == "SDF record has no atoms"


def test_molblocks_joined_without_separator_are_split_with_a_warning(tmp_path, caplog):
    mols = [Chem.MolFromSmiles(smi) for smi in ("CCO", "c1ccccc1", "CCN")]
    first = Chem.MolToMolBlock(mols[0]) + "> <code>\nC1\n\n"  # data items stay with their molecule
    path = tmp_path / "lib.sdf"
    path.write_text(first + Chem.MolToMolBlock(mols[1]) + "$$$$\n" + sdf_text("CCN"))
    with caplog.at_level("WARNING", logger="medflow.molecules"):
        records, rejects = read_file(str(path), SETTINGS)
    assert rejects == [] and len(records) == 3
    assert [r["record"] for r in records][:2] == [1, first.count("\n") + 1]
    assert "> <code>\nC1" in records[0]["molblock"] and "<code>" not in records[1]["molblock"]
    assert "holds 2 molecules" in caplog.text and str(path) in caplog.text
    frame = processed_sdf(path)
    assert frame["input_smiles"].tolist() == ["CCO", "c1ccccc1", "CCN"]


def test_empty_sdf_record_and_missing_id_property(tmp_path, caplog):
    path = tmp_path / "lib.sdf"
    path.write_text(sdf_text("CCO") + "$$$$\n" + sdf_text("CCN"))
    with caplog.at_level("WARNING", logger="medflow.molecules"):
        records, rejects = read_file(str(path), {**SETTINGS, "sdf_id_property": "CODE"})
    assert [r["id"] for r in records] == ["C1", "C1"]  # the property is matched ignoring case
    assert [r["reasons"] for r in rejects] == [
        "empty SDF record (a '$$$$' line right after another)"
    ]
    records, _ = read_file(str(path), {**SETTINGS, "sdf_id_property": "vendor_id"})
    assert records[0]["id"] == f"{path}:1"
    assert "no property 'vendor_id' (properties: code)" in caplog.text


def test_smi_lines_with_tabs_split_on_tabs():
    assert io.split_smiles_line("CCO\tm1\t123.4\tvendorX\n") == ["CCO", "m1"]
    assert io.split_smiles_line("CCO |$a;b;c$|\tm1\t9\n") == ["CCO |$a;b;c$|", "m1"]
    assert io.split_smiles_line("CCO\t\tx\n") == ["CCO"]
    assert io.split_smiles_line("CCO my id\t9\n") == ["CCO", "my id"]
    assert io.split_smiles_line("CCO benzene ring\n") == ["CCO", "benzene ring"]
    # text after the tab is the ID: the space is inside the SMILES field (a reject, with that ID)
    assert io.split_smiles_line("CCN(CC) CC\tTEA-001\n") == ["CCN(CC) CC", "TEA-001"]


def test_id_column_ignores_case_and_a_missing_one_is_named(tmp_path, caplog):
    path = tmp_path / "lib.csv"
    path.write_text("ID,SMILES\nx,CCO\n")
    records, _ = read_file(str(path), SETTINGS)
    assert [(r["id"], r["smiles"]) for r in records] == [("x", "CCO")]
    with caplog.at_level("WARNING", logger="medflow.molecules"):
        records, _ = read_file(str(path), {**SETTINGS, "id_column": "compound_id"})
    assert records[0]["id"] == f"{path}:2"
    assert "no ID column 'compound_id' (columns: ID, SMILES)" in caplog.text


def test_a_column_named_twice_warns_that_the_first_is_read(tmp_path, caplog):
    path = tmp_path / "lib.csv"
    path.write_text("id,smiles,note,SMILES\nx,CCO,a,c1ccccc1\n")
    with caplog.at_level("WARNING", logger="medflow.molecules"):
        records, _ = read_file(str(path), SETTINGS)
    assert [(r["id"], r["smiles"]) for r in records] == [("x", "CCO")]
    assert "names column 'smiles' 2 times (columns 2, 4); the first is read" in caplog.text
    assert "column 'id'" not in caplog.text


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("lib.csv", "id;smiles\n1;CCO\n", "the header holds a semicolon"),
        ("lib.smi", "smiles,name\nCCO,1\n", "looks like a comma-separated header"),
        ("lib.smi", "ID\tSMILES\nm1\tCCO\n", "names the ID column first"),
        ("lib.smi", "name canonical_smiles\nm1 CCO\n", "names the ID column first"),
    ],
)
def test_wrong_separators_are_hinted(tmp_path, name, text, said):
    path = tmp_path / name
    path.write_text(text)
    _, rejects = read_file(str(path), SETTINGS)
    assert said in rejects[0]["reasons"] and rejects[0]["record"] == 1


def test_sdf_with_old_mac_line_ends_is_read(tmp_path):
    path = tmp_path / "lib.sdf"
    path.write_bytes(sdf_text("CCO", "CCN").replace("\n", "\r").encode())
    frame = processed_sdf(path)
    assert frame["input_smiles"].tolist() == ["CCO", "CCN"] and frame["record"].tolist() == [1, 15]


def test_a_file_listed_twice_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "a.smi"
    path.write_text("CCO x\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"lists the same file twice: .*'a\.smi'"):
        split([path, "a.smi"], tmp_path)


def test_upper_case_extensions_are_accepted(tmp_path):
    config = fill_and_validate({"molecules": {"inputs": ["LIB.SDF", "a.Smi.GZ", "b.CSV"]}})
    assert config["molecules"]["inputs"] == ["LIB.SDF", "a.Smi.GZ", "b.CSV"]
    path = tmp_path / "LIB.SDF.GZ"
    with gzip.open(path, "wt") as handle:
        handle.write(sdf_text("CCO"))
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == [] and records[0]["id"] == "m1"


def test_a_stray_quote_closing_inside_a_later_id_is_caught(tmp_path):
    # csv reads `"Magic dye ... 12" ruler` leniently as one ID holding the lines between
    for suffix, sep in ((".csv", ","), (".tsv", "\t")):
        path = tmp_path / f"lib{suffix}"
        rows = ["smiles,id", 'CCO,"Magic dye', "CCN,plain", 'CCC,12" ruler', "CCCC,last"]
        path.write_text("".join(row.replace(",", sep) + "\n" for row in rows))
        records, rejects = read_file(str(path), SETTINGS)
        assert [(r["record"], r["id"]) for r in records] == [
            (3, "plain"),
            (4, '12" ruler'),
            (5, "last"),
        ]
        assert [r["record"] for r in rejects] == [2]
        assert "opened on line 2 runs to line 4" in rejects[0]["reasons"]


def test_a_note_over_several_lines_with_commas_stays_whole(tmp_path):
    path = tmp_path / "lib.csv"
    path.write_text('smiles,id,note\nCCO,a,"first line, and\nthe second, too"\nCCN,b,x\n')
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == [] and [r["id"] for r in records] == ["a", "b"]


def test_a_property_value_ending_in_v2000_does_not_split_the_record(tmp_path):
    block = Chem.MolToMolBlock(Chem.MolFromSmiles("CCO"))
    path = tmp_path / "lib.sdf"
    path.write_text(block + "> <source>\nconverted from V2000\n\n$$$$\n" + sdf_text("CCN"))
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == [] and len(records) == 2
    assert "converted from V2000" in records[0]["molblock"]


def test_chunks_are_sized_for_old_mac_line_ends_and_joined_molblocks(tmp_path):
    cr = tmp_path / "cr.smi"
    cr.write_bytes(b"".join(b"C" * (i % 5 + 1) + b" m%d\r" % i for i in range(300)))
    assert io.count_lines(str(cr), None) == 300
    joined = tmp_path / "cat.sdf"
    joined.write_text("".join(Chem.MolToMolBlock(Chem.MolFromSmiles("CCO")) for _ in range(40)))
    assert io.count_lines(str(joined), None) == 40  # no $$$$ line: its M  END lines count
    assert io.count_lines(str(joined), 10) == 10
    split([cr, joined], tmp_path)
    assert len(list((tmp_path / "chunks").iterdir())) == 1
    # a count that comes out low never makes a chunk per molecule
    assert io.chunk_size_for(1, 0) == io.AUTO_CHUNK_MIN


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("lib.sdf.smi", "smi"),
        ("export.tsv.csv", "csv"),
        ("x.SDF.gz", "sdf"),
        ("a.smi.gz", "smi"),
        ("t.TSV", "tsv"),
        ("data.txt", "csv"),
    ],
)
def test_the_last_extension_decides_how_a_file_is_read(name, kind):
    assert io.file_kind(name) == kind


def test_a_smi_file_named_after_another_format_is_read_as_smiles(tmp_path):
    path = tmp_path / "lib.sdf.smi"
    path.write_text("CCO a\nCCN b\nCCC c\n")
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == [] and [r["id"] for r in records] == ["a", "b", "c"]


@pytest.mark.parametrize("header", ["canonical_smiles\tchembl_id", "smi id", "SMILES Name"])
def test_smi_header_lines_are_skipped(tmp_path, header):
    path = tmp_path / "lib.smi"
    path.write_text(f"{header}\nCCO\tCHEMBL545\n")
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == [] and [r["id"] for r in records] == ["CHEMBL545"]


def test_smi_line_with_an_empty_smiles_before_its_tab_is_an_empty_field(tmp_path):
    path = tmp_path / "lib.smi"
    path.write_text("CCO a\n\tonly_id\n\t\nCCN b\n")
    records, rejects = read_file(str(path), SETTINGS)
    assert [r["id"] for r in records] == ["a", "b"]
    assert [(r["record"], r["id"], r["reasons"]) for r in rejects] == [
        (2, "only_id", "empty SMILES field (the line starts with a tab)")
    ]


def test_a_smiles_longer_than_csvs_default_field_limit_is_read(tmp_path):
    path = tmp_path / "big.csv"
    long_chain = "C" * 140_000
    path.write_text(f"smiles,id\n{long_chain},longchain\nCCO,b\n")
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == [] and [r["id"] for r in records] == ["longchain", "b"]
    assert records[0]["smiles"] == long_chain


def test_a_smi_header_after_comment_lines_is_skipped(tmp_path):
    path = tmp_path / "zinc.smi"  # ZINC20's exports start with a comment
    path.write_text("# ZINC20 export\n\nsmiles zinc_id\nCCO ZINC_ETH\nsmiles_not_a_header x\n")
    records, rejects = read_file(str(path), SETTINGS)
    assert [r["id"] for r in records] == ["ZINC_ETH", "x"]  # only the first line can be a header
    assert rejects == []


def test_sdf_files_joined_with_cat_lose_each_byte_order_mark(tmp_path):
    path = tmp_path / "joined.sdf"
    one, two = sdf_text("CCO", name_prefix="a"), sdf_text("CCN", name_prefix="b")
    path.write_bytes(b"\xef\xbb\xbf" + one.encode() + b"\xef\xbb\xbf" + two.encode())
    records, rejects = read_file(str(path), SETTINGS)
    assert rejects == [] and [r["id"] for r in records] == ["a1", "b1"]


@pytest.mark.parametrize("name", ["_Name", "_NAME", "_name"])
def test_the_title_line_is_the_id_property_in_any_case(tmp_path, name):
    path = tmp_path / "lib.sdf"
    path.write_text(sdf_text("CCO", "CCN"))
    records, _ = read_file(str(path), {**SETTINGS, "sdf_id_property": name})
    assert [r["id"] for r in records] == ["m1", "m2"]


def test_gzip_data_named_without_gz_is_read_as_gzip(tmp_path, caplog):
    path = tmp_path / "lib.smi"
    path.write_bytes(gzip.compress(b"CCO ethanol\nCCN ethylamine\n"))
    with caplog.at_level("WARNING", logger="medflow.molecules"):
        records, rejects = read_file(str(path), SETTINGS)
    assert [r["id"] for r in records] == ["ethanol", "ethylamine"] and rejects == []
    assert "holds gzip-compressed data; it is read as such" in caplog.text
    assert io.count_lines(str(path), None) == 2


def test_a_damaged_gzip_stream_is_a_reject_after_the_records_read(tmp_path):
    """A deflate error (zlib.error, not an OSError) was a traceback that stopped mol_split."""
    import random
    import zlib

    data = b"".join(b"C%sN amine%d\n" % (b"C" * (i % 15), i) for i in range(2000))
    base, rng = gzip.compress(data, mtime=0), random.Random(1)
    for _ in range(500):
        damaged = bytearray(base)
        start = rng.randrange(len(damaged) // 3, 2 * len(damaged) // 3)
        damaged[start : start + 8] = bytes(rng.randrange(256) for _ in range(8))
        try:
            gzip.decompress(bytes(damaged))
        except zlib.error:
            break
        except Exception:  # another kind of damage (a bad header, CRC): try another spot
            continue
    else:
        pytest.fail("no damage that zlib reports was found")
    path = tmp_path / "lib.smi.gz"
    path.write_bytes(bytes(damaged))
    records, rejects = read_file(str(path), SETTINGS)
    (reject,) = rejects
    assert reject["record"] == 0 and "a damaged gzip stream" in reject["reasons"]
    assert f"unreadable file after {len(records)} records" in reject["reasons"]
    io.count_lines(str(path), None)  # sizes the chunks without stopping


def test_max_records_says_the_file_was_cut_short(tmp_path, caplog):
    path = tmp_path / "lib.smi"
    path.write_text("CCO a\nCCN b\nCCC c\n")
    with caplog.at_level("WARNING", logger="medflow.molecules"):
        records, _ = read_file(str(path), {**SETTINGS, "max_records": 2})
        assert len(records) == 2 and "only its first 2 records are read" in caplog.text
        caplog.clear()
        read_file(str(path), {**SETTINGS, "max_records": 3})
    assert "only its first" not in caplog.text
