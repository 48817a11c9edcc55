"""QC of FASTA input: parsing, checks, collapsing, and every bad-input case of the issue."""

import gzip
import json
import subprocess
import sys

import pandas as pd
import pytest
import seq_qc
from conftest import REPO

from medflow.sequences.io import Record, detect_alphabet, fasta_ids, read_fasta, resolve_matrix
from medflow.sequences.qc import choose_alphabet
from medflow.step import InputError

QC = {"min_length": 5, "max_length": 50, "max_ambiguous_fraction": 0.2}


def write(path, text):
    path.write_text(text)
    return str(path)


def run_main(tmp_path, files, alphabet="auto", matrix="auto", mode="local", **qc):
    out = {k: str(tmp_path / f"out.{k}") for k in ("unique", "table", "rejects", "summary")}
    overrides = {"sequences.alphabet": alphabet, "sequences.alignment.matrix": matrix}
    overrides["sequences.alignment.mode"] = mode
    overrides |= {f"sequences.qc.{key}": value for key, value in {**QC, **qc}.items()}
    seq_qc.main(seq_qc.STEP.context({"fasta": files}, out, overrides=overrides))
    table = pd.read_csv(out["table"], sep="\t", keep_default_na=False)
    rejects = pd.read_csv(out["rejects"], sep="\t", keep_default_na=False)
    return table, rejects, json.loads(open(out["summary"]).read())


def test_read_fasta_plain_and_gzipped_with_lines(tmp_path):
    text = ">a first\nACDE\nFGH\n\n>b\nKLM\n"
    plain = write(tmp_path / "x.fa", text)
    packed = tmp_path / "x.fa.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, str(packed)):
        records = read_fasta(path)
        assert [(r.id, r.seq, r.line) for r in records] == [("a", "ACDEFGH", 1), ("b", "KLM", 5)]


def test_detect_alphabet():
    assert detect_alphabet("ACGTACGTNN") == "nucleotide"
    assert detect_alphabet("ACGU") == "nucleotide"
    assert detect_alphabet("MKVLAAGIEE") == "protein"
    assert detect_alphabet("ACGTXXXXXXXXACGTAC") == "nucleotide"  # hard-masked bases aside
    assert detect_alphabet("XXXX") == "protein"
    # mostly hard-masked DNA is still DNA when 20 or more bases are left to tell
    assert detect_alphabet("X" * 120 + "ACGTTGCAAGGCTTACCGATGGAC") == "nucleotide"
    assert detect_alphabet("X" * 85 + "WAC") == "protein"


def test_hard_masked_dna_is_read_as_dna_with_x_as_n(tmp_path):
    # X-masked repeats made the whole run protein (BLOSUM62, one cluster) without a word
    bases = "ACGTTGCAAGGCTTACCGATGGACTAGCATCGGATC"
    fasta = write(
        tmp_path / "masked.fa",
        f">a\n{bases}\n>b\n{bases[:10]}XXX{bases[13:]}\n>c\n{bases[::-1]}\n",
    )
    table, _, summary = run_main(tmp_path, [fasta])
    assert summary["alphabet"] == "nucleotide" and summary["matrix"] == "NUC.4.4"
    row = table.set_index("id").loc["b"]
    assert row["status"] == "unique" and row["ambiguous_fraction"] == pytest.approx(
        3 / 36, abs=1e-3
    )


def test_every_record_is_kept_collapsed_or_rejected(tmp_path):
    fasta = write(
        tmp_path / "in.fa",
        ">ok1\nMKVLAAGIEEW\n>copy\nmkvlaagieew*\n>ok2\nPQRSTVWYAC\n>short\nMKV\n"
        ">bad\nMKV1LAAG\n>amb\nMXXXXKVLAA\n>empty\n>dna\nACGTACGTACGT\n",
    )
    table, rejects, summary = run_main(tmp_path, [fasta], alphabet="protein")
    expected = {  # id: (status, reject reason)
        "ok1": ("unique", None),
        "copy": ("duplicate", None),
        "ok2": ("unique", None),
        "short": ("rejected", "too_short"),
        "bad": ("rejected", "invalid_characters"),
        "amb": ("rejected", "too_ambiguous"),
        "empty": ("rejected", "empty_sequence"),
        "dna": ("unique", None),  # the config says protein: a protein of A, C, G, T letters
    }
    assert dict(zip(table["id"], table["status"], strict=True)) == {
        name: status for name, (status, _) in expected.items()
    }
    assert table.set_index("id").loc["copy", "representative"] == "ok1"
    assert dict(zip(rejects["id"], rejects["reason"], strict=True)) == {
        name: reason for name, (_, reason) in expected.items() if reason
    }
    assert rejects.set_index("id").loc["bad", "detail"] == "characters 1"
    assert summary["records"] == 8 == summary["unique"] + summary["duplicate"] + summary["rejected"]
    assert [r.id for r in read_fasta(tmp_path / "out.unique")] == ["ok1", "ok2", "dna"]


def test_records_across_files_and_too_long(tmp_path):
    a = write(tmp_path / "a.fa", ">x\nMKVLAAGIEEW\n")
    b = write(tmp_path / "b.fa", ">y\nPQRSTVWYAC\n>z\n" + "W" * 60 + "\n")
    table, rejects, _ = run_main(tmp_path, [a, b])
    assert list(table["file"]) == [a, b, b]
    row = rejects.to_dict("records")[0]
    assert row["reason"] == "too_long"
    assert row["detail"].startswith("length 60 > sequences.qc.max_length 50; raise it")


def test_very_long_sequences_near_max_length(tmp_path):
    # 9,990 and 10,010 residues around a max_length of 10,000: one aligned, one a rejects row.
    unit = "MKVLAAGIEEWRDDKPQST"
    near, over = (unit * 600)[:9990], (unit * 600)[:10010]
    fasta = write(tmp_path / "long.fa", f">near\n{near}\n>over\n{over}\n>short\n{unit * 3}\n")
    table, rejects, summary = run_main(tmp_path, [fasta], max_length=10000)
    assert dict(zip(table["id"], table["status"], strict=True)) == {
        "near": "unique", "over": "rejected", "short": "unique",
    }  # fmt: skip
    assert rejects.loc[0, "detail"].startswith("length 10010 > sequences.qc.max_length 10000")
    assert summary["rejected_by_reason"] == {"too_long": 1}


def test_selenocysteine_pyrrolysine_and_j_are_scored_as_x_where_the_matrix_lacks_them(tmp_path):
    # BLOSUM62 has X but no U, O or J: the record is kept and aligned with X there, as BLAST does
    text = ">u\nMKVLUAAGIEOW\n>j\nMKVLJAAGIEW\n>b\nPQRSTVWYAC\n>x\nMKVLXAAGIEXW\n>c\nMKVLAAGIEW\n"
    fasta = write(tmp_path / "in.fa", text)
    table, rejects, _ = run_main(tmp_path, [fasta])
    rows = table.set_index("id")
    assert rejects.empty and rows.loc["x", "status"] == "unique"
    assert rows.loc["u", "detail"] == "1 O scored as X; 1 U scored as X"
    assert rows.loc["j", "detail"] == "1 J scored as X" and rows.loc["u", "length"] == 12
    assert rows.loc["u", "ambiguous_fraction"] == 0.0  # U and O are residues, not ambiguity
    aligned = {r.id: r.seq for r in read_fasta(tmp_path / "out.unique")}
    assert aligned["u"] == "MKVLXAAGIEXW" and aligned["j"] == "MKVLXAAGIEW"
    # BLASTP scores U, O and J itself; a matrix without X cannot stand in for them
    table, rejects, _ = run_main(tmp_path, [fasta], matrix="BLASTP")
    assert rejects.empty and table.set_index("id").loc["u", "detail"] == ""
    _, rejects, _ = run_main(tmp_path, [fasta], matrix="JONES")
    assert dict(zip(rejects["id"], rejects["detail"], strict=True)) == {
        "u": "the substitution matrix lacks OU",
        "j": "the substitution matrix lacks J",
        "x": "the substitution matrix lacks X",
    }


def test_nucleotide_run_reads_u_as_t(tmp_path):
    fasta = write(tmp_path / "in.fa", ">r\nACGUACGUAA\n>d\nACGTACGTAA\n>e\nGGGCCCAATT\n")
    table, _, summary = run_main(tmp_path, [fasta])
    assert summary["alphabet"] == "nucleotide" and summary["matrix"] == "NUC.4.4"
    assert table.set_index("id").loc["d", "status"] == "duplicate"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("id,smiles\nx,CCO\n", "not FASTA"),
        (">a\nMKVLAAGIEE\n>b\nPQRSTVWYAC\n>a\nMKKK\n", "duplicate sequence ID"),
        (">p\nMKVLAAGIEEWLLQ\n>n\nACGTACGTACGTACG\n", "mixed protein and nucleotide"),
        (">a\nMKVLAAGIEE\n>b\nMK\n>c\n", "fewer than two distinct sequences"),
        (">a\nMKVLAAGIEE\n>b\nMKVLAAGIEE\n", "fewer than two distinct sequences"),
        (">\nMKVLAAGIEE\n", "header without an ID"),
        (">a\nMKVLAAGIEE\n>b\x00c\nPQRSTVWYAC\n", r"line 3: the ID 'b\\x00c' holds control"),
        (
            ">P1;CRAB_ANAPL\nAlpha crystallin B chain\nMDIAIHHPWIRRPFFPFHSP*\n",
            r"line 1: 'P1;CRAB_ANAPL' is a PIR/NBRF header",
        ),
        (  # one-word description, told by PIR's terminator
            ">a\nMKVLAAGIEE\n>F1;X\nkinase\nMDIAIHHPWIRRPF\nFPFHSP*\n",
            r"line 3: 'F1;X' is a PIR/NBRF header",
        ),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path, text, message):
    fasta = write(tmp_path / "in.fa", text)
    with pytest.raises(InputError, match=message):
        run_main(tmp_path, [fasta])


def test_too_few_left_names_a_rejected_record_and_its_detail(tmp_path):
    """When QC leaves fewer than two sequences the run stops before the rejects table is
    written, so the message shows what was wrong: an internal stop '*' in every record."""
    fasta = write(tmp_path / "in.fa", ">a\nMKVLA*AGIEE\n>b\nPQRST*VWYAC\n")
    with pytest.raises(InputError) as error:
        run_main(tmp_path, [fasta])
    assert f"invalid_characters: 'a' ({fasta}, line 1): characters *" in str(error.value)


@pytest.mark.parametrize(
    ("text", "named", "biopython"),
    [
        (
            "# STOCKHOLM 1.0\n#=GF ID PF00001\ns1/1-9 MKV-LLAAG\n//\n",
            "a Stockholm alignment",
            "stockholm",
        ),
        ("LOCUS       AB000001   20 aa   linear\nORIGIN\n//\n", "a GenBank flat file", "genbank"),
        ("ID   X56734; SV 1; linear; mRNA; STD; PLN; 1859 BP.\n//\n", "an EMBL flat file", "embl"),
        ("ID   CRAB_ANAPL     Reviewed;   175 AA.\n//\n", "a UniProt flat file", "swiss"),
        (
            "CLUSTAL W (1.83) multiple sequence alignment\n\ns1  MKV\n",
            "a Clustal alignment",
            "clustal",
        ),
        (" 2 10\ns1 MKVALLAAGG\ns2 MKVALLAAGK\n", "a PHYLIP alignment", "phylip"),
        ("#NEXUS\nbegin data;\n", "a NEXUS file", "nexus"),
        ("@r1\nACGTACGTAC\n+\nIIIIIIIIII\n", "a FASTQ file of reads", "fastq"),
        ("<!DOCTYPE html>\n<html></html>\n", "HTML or XML", None),
    ],
)
def test_other_sequence_formats_are_named_with_their_conversion(tmp_path, text, named, biopython):
    fasta = write(tmp_path / "in.fa", text)
    with pytest.raises(InputError) as error:
        read_fasta(fasta)
    message = str(error.value)
    assert f"{fasta}, line 1: not FASTA" in message and f"This looks like {named}" in message
    if biopython:
        assert f"SeqIO.convert(PATH, '{biopython}', NEW, 'fasta')" in message
    else:
        assert "SeqIO" not in message


def test_fasta_ids_that_look_like_pir_headers_read_as_fasta(tmp_path):
    # Pfam/HomFam domain files name records >P1;1ggla with plain sequence lines: FASTA, not PIR
    text = ">P1;1ggla\nPPNLTGYYRFVSQKNMEDYLQA\nLNISLAVRKIALL\n>P1;7ahla\nMKVLAAGIEEWLLQ\n"
    records = read_fasta(write(tmp_path / "in.fa", text))
    assert [(r.id, r.seq) for r in records] == [
        ("P1;1ggla", "PPNLTGYYRFVSQKNMEDYLQALNISLAVRKIALL"),
        ("P1;7ahla", "MKVLAAGIEEWLLQ"),
    ]


def test_duplicate_id_error_names_both_records(tmp_path):
    a = write(tmp_path / "a.fa", ">x\nMKVLAAGIEE\n")
    b = write(tmp_path / "b.fa", ">y\nPQRSTVWYAC\n>x\nMKKKLLLAAA\n")
    with pytest.raises(InputError) as error:
        run_main(tmp_path, [a, b])
    assert f"({a}, line 1)" in str(error.value) and f"({b}, line 3)" in str(error.value)


def test_binary_file_is_a_clear_error(tmp_path):
    path = tmp_path / "x.fa"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(InputError, match="not a readable"):
        read_fasta(path)


def test_matrix_must_fit_the_alphabet():
    assert resolve_matrix("auto", "protein") == "BLOSUM62"
    with pytest.raises(InputError, match="nucleotide matrix"):
        resolve_matrix("NUC.4.4", "protein")
    with pytest.raises(InputError, match="unknown substitution matrix"):
        resolve_matrix("BLOSUM63", "protein")


def test_choose_alphabet_setting_wins():
    records = [Record("a", "ACGTACGT", "f", 1)]
    assert choose_alphabet(records, "protein") == "protein"
    assert choose_alphabet(records, "auto") == "nucleotide"


def test_script_reports_bad_input_without_traceback(tmp_path):
    fasta = write(tmp_path / "in.fa", ">a\nMKVLAAGIEE\n>a\nPQRSTVWYAC\n")
    outs = [str(tmp_path / k) for k in ("unique", "table", "rejects", "summary")]
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "seq_qc.py"), fasta, *outs],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "duplicate sequence ID" in proc.stderr and "Traceback" not in proc.stderr


def test_a_folder_given_as_fasta_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        read_fasta(tmp_path)


def test_alignment_gaps_are_stripped_and_counted_or_rejected(tmp_path):
    # An aligned FASTA (a multiple alignment's rows, '-' and '.' gaps), saved by a Windows editor:
    # byte-order mark and CRLF line ends.
    text = ">a\r\nMKV--LAAG.IEEW\r\n>b\r\nMKVLAAGIEEW\r\n>c\r\n-----\r\n>d\r\nPQR-STVWYAC\r\n"
    text += ">e\r\nPQRSTVWYAC\r\n"
    fasta = tmp_path / "aligned.fa"
    fasta.write_bytes(b"\xef\xbb\xbf" + text.encode())
    table, rejects, summary = run_main(tmp_path, [str(fasta)])
    rows = table.set_index("id")
    assert summary["alphabet"] == "protein"
    assert rows.loc["a", "status"] == "unique" and rows.loc["b", "representative"] == "a"
    assert rows.loc["a", "detail"] == "3 alignment gap characters (- .) removed"
    assert rows.loc["a", "length"] == 11 and rows.loc["b", "detail"] == ""
    assert rows.loc["c", "reason"] == "empty_sequence" and rejects["id"].tolist() == ["c"]
    assert rows.loc["c", "detail"] == "zero-length record; 5 alignment gap characters (- .) removed"
    assert rows.loc["d", "status"] == "unique"
    table, rejects, _ = run_main(tmp_path, [str(fasta)], gaps="reject")
    assert dict(zip(rejects["id"], rejects["reason"], strict=True)) == {
        "a": "invalid_characters",
        "c": "invalid_characters",
        "d": "invalid_characters",
    }


def test_gapped_nucleotide_alignment_is_read_as_nucleotide():
    records = [Record("x", "ACGT--ACGTAC", "f.fa", 1), Record("y", "ACG.TACGTACG", "f.fa", 3)]
    assert choose_alphabet(records, "auto") == "nucleotide"
    # with gaps: reject the gaps decide nothing about the alphabet; QC rejects those records
    assert choose_alphabet(records, "auto", "reject") == "nucleotide"


DNA = "ACGTTGCAACGGTACCATGGACGTAGCTAGCTTACG"


def test_one_stray_record_of_the_other_kind_is_a_reject_not_a_stop(tmp_path):
    # DNA records with, among them: a protein, a record with 12% IUPAC ambiguity codes (valid
    # nucleotide text: too ambiguous, not protein), GenBank-style numbering, and an aligned row
    # under gaps: reject. Each gets its own reason; the run stays nucleotide.
    ambiguous = "ACGTACGTRYACGTACGTSWACGTACGTKM" + "ACGTAC"
    text = "".join(f">d{k}\n{DNA[k:]}{DNA[:k]}\n" for k in range(12))
    text += f">prot\nMKVLAAGIEEWLLQRSTPF\n>amb\n{ambiguous}\n>numbered\n1 {DNA[:30]}\n"
    text += f">gapped\n{DNA[:10]}---{DNA[10:]}\n"
    fasta = write(tmp_path / "dna.fa", text)
    _, rejects, summary = run_main(tmp_path, [fasta], gaps="reject", max_ambiguous_fraction=0.1)
    assert summary["alphabet"] == "nucleotide"
    assert dict(zip(rejects["id"], rejects["reason"], strict=True)) == {
        "prot": "alphabet_mismatch",
        "amb": "too_ambiguous",
        "numbered": "invalid_characters",
        "gapped": "invalid_characters",
    }
    assert rejects.set_index("id").loc["numbered", "detail"] == "characters 1"
    # a protein run: one record of only A, C, G, T letters is rejected, the run goes on
    proteins = "".join(f">p{k}\nMKVLAAGIEEWLLQRSTPF{'W' * k}\n" for k in range(6))
    fasta = write(tmp_path / "prot.fa", proteins + ">gly\nGGAGGAGGTGGAGGAGGCGGAGGAGGTGGAGGC\n")
    _, rejects, summary = run_main(tmp_path, [fasta])
    assert summary["alphabet"] == "protein" and rejects["id"].tolist() == ["gly"]
    assert rejects.loc[0, "detail"].startswith("looks like nucleotide, run is protein (detected)")
    assert "sequences.alphabet: protein" in rejects.loc[0, "detail"]
    _, rejects, summary = run_main(tmp_path, [fasta], alphabet="protein")
    assert rejects.empty and summary["unique"] == 7


def test_files_of_different_kinds_stop_the_run_naming_both(tmp_path):
    dna = write(tmp_path / "dna.fa", "".join(f">d{k}\n{DNA[k:]}\n" for k in range(5)))
    prot = write(tmp_path / "prot.fa", ">p\nMKVLAAGIEEWLLQRSTPF\n")
    with pytest.raises(InputError, match="mixed protein and nucleotide") as error:
        run_main(tmp_path, [dna, prot])
    assert f"{prot} is mostly protein, {dna} mostly nucleotide" in str(error.value)


def test_whitespace_inside_sequence_lines_is_dropped(tmp_path):
    path = tmp_path / "x.fa"
    path.write_bytes(b">a\nMKV\tLAA GIE\xc2\xa0W\r\n")
    assert read_fasta(path)[0].seq == "MKVLAAGIEW"


def test_a_byte_that_is_not_utf8_is_named_by_its_line(tmp_path):
    path = tmp_path / "latin1.fa"
    path.write_bytes(b">a ok\nMKVLAAGIEW\n>b caf\xe9 au lait\nPQRSTVWYAC\n")
    packed = tmp_path / "latin1.fa.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    for bad in (path, packed):
        with pytest.raises(InputError, match=r"line 3: not a readable text file: byte b'\\xe9'"):
            read_fasta(bad)
        with pytest.raises(InputError, match="line 3"):
            fasta_ids(bad)


def test_utf16_text_is_refused_naming_its_encoding(tmp_path):
    """Windows' 'Unicode text' (UTF-16 with a byte-order mark), UTF-32, and UTF-16 without a mark
    (a NUL byte in every other place) would parse into IDs and sequences with a NUL between their
    letters: refused, naming the file and what to do; UTF-8 with its byte-order mark is read."""
    text = ">a one\nMKVLAAGIEW\n>b two\nPQRSTVWYAC\n"
    cases = {
        "utf16.fa": (text.encode("utf-16"), "UTF-16 text"),
        "utf16.fa.gz": (gzip.compress(text.encode("utf-16")), "UTF-16 text"),
        "utf32.fa": (text.encode("utf-32"), "UTF-32 text"),
        "nomark.fa": (text.encode("utf-16-le"), "UTF-16 text"),
    }
    for name, (data, what) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        for read in (read_fasta, fasta_ids):
            with pytest.raises(InputError, match=f"{name}: .*{what}.*save it as UTF-8"):
                read(path)
    marked = tmp_path / "bom.fa"
    marked.write_bytes(text.encode("utf-8-sig"))
    assert [r.id for r in read_fasta(marked)] == ["a", "b"]


def test_a_corrupt_gzip_stream_is_a_clear_error(tmp_path):
    import random

    rng = random.Random(0)
    text = "".join(
        f">s{k}\n{''.join(rng.choice('ACDEFGHIKLMNPQRSTVWY') for _ in range(80))}\n"
        for k in range(50)
    )
    damaged = bytearray(gzip.compress(text.encode()))
    for at in range(200, 260):
        damaged[at] ^= 0x55
    path = tmp_path / "corrupt.fa.gz"
    path.write_bytes(bytes(damaged))
    for reader in (read_fasta, fasta_ids):
        with pytest.raises(InputError, match=f"{path}: not a readable text or gzipped FASTA"):
            reader(path)


def test_one_file_named_twice_is_a_clear_error(tmp_path):
    fasta = write(tmp_path / "a.fa", ">x\nMKVLAAGIEEW\n>y\nPQRSTVWYAC\n")
    with pytest.raises(InputError, match=r"sequences.fasta lists the same file twice"):
        run_main(tmp_path, [fasta, str(tmp_path / "." / "a.fa")])


def test_a_record_nothing_in_which_scores_against_itself_is_rejected(tmp_path):
    """With ambiguity allowed, an all-X record (U and O scored as X under BLOSUM62) would reach the
    alignment with a self-score of 0 and stop the clustering; QC rejects it instead. One residue
    that scores against itself is enough for a local self-score."""
    fasta = write(
        tmp_path / "in.fa",
        ">ok1\nMKVLAAGIEEW\n>ok2\nPQRSTVWYAC\n>allx\nXXXXXXXXXX\n>xu\nXXUXXOXXXX\n"
        ">onea\nXXXXAXXXXX\n",
    )
    table, rejects, summary = run_main(
        tmp_path, [fasta], alphabet="protein", max_ambiguous_fraction=1.0
    )
    assert table.set_index("id").loc["onea", "status"] == "unique"
    assert dict(zip(rejects["id"], rejects["reason"], strict=True)) == {
        "allx": "no_self_score",
        "xu": "no_self_score",
    }
    assert "cannot align" in rejects.set_index("id").loc["allx", "detail"]
    assert summary["unique"] == 3 and summary["rejected_by_reason"] == {"no_self_score": 2}


@pytest.mark.parametrize(("packer", "name"), [("bz2", "bzip2"), ("lzma", "xz")])
def test_a_fasta_compressed_other_than_gzip_is_named(tmp_path, packer, name):
    import importlib

    data = importlib.import_module(packer).compress(b">a\nMKVLAAGIEE\n>b\nPQRSTVWYAC\n")
    (tmp_path / "in.fa.x").write_bytes(data)
    with pytest.raises(InputError, match=rf"a {name}-compressed file, which medflow does not read"):
        run_main(tmp_path, [str(tmp_path / "in.fa.x")])


def test_a_byte_order_mark_inside_a_joined_file_loses_no_record(tmp_path):
    """Two files saved on Windows and joined with cat: the second one's BOM starts a line in the
    middle; its header is a header, not sequence glued onto the record before it."""
    fasta = tmp_path / "joined.fa"
    fasta.write_bytes(
        b">a\nMKVLAAGIEEW\n\xef\xbb\xbf>b desc\nPQRSTVWYAC\n\xe2\x80\x8b>c\nMKVLAAGIQQW\n"
    )
    records = read_fasta(fasta)
    assert [(r.id, r.seq, r.line) for r in records] == [
        ("a", "MKVLAAGIEEW", 1),
        ("b", "PQRSTVWYAC", 3),
        ("c", "MKVLAAGIQQW", 5),
    ]
    assert fasta_ids(fasta) == ["a", "b", "c"]


def test_global_mode_rejects_a_record_scoring_below_zero_against_itself(tmp_path):
    """Mostly X with the ambiguity limit raised: its local self-score is positive (W, A, C) but
    its global one is not, which used to stop the clustering step for the whole run."""
    fasta = write(
        tmp_path / "x.fa",
        ">ok1\nMKVLAAGIEEW\n>ok2\nPQRSTVWYAC\n>mostly_x\n" + "X" * 85 + "WAC\n",
    )
    _, rejects, _ = run_main(tmp_path, [fasta], max_ambiguous_fraction=1.0, max_length=1000)
    assert rejects.empty
    _, rejects, summary = run_main(
        tmp_path, [fasta], max_ambiguous_fraction=1.0, max_length=1000, mode="global"
    )
    assert rejects["id"].tolist() == ["mostly_x"] and summary["unique"] == 2
    assert rejects.loc[0, "reason"] == "no_self_score"
    assert "global self-score is -" in rejects.loc[0, "detail"]


def test_labels_that_match_only_by_case_or_are_comma_separated_say_so(tmp_path):
    from medflow.sequences.io import check_labels_match, read_labels

    with pytest.raises(
        InputError, match="case-sensitive: the table's IDs match when case is ignored"
    ):
        check_labels_match({"seq_a": "g1", "seq_b": "g2"}, "l.tsv", ["SEQ_A", "SEQ_B"])
    with pytest.raises(InputError, match=r"matches a FASTA record ID .*without '>'\.$"):
        check_labels_match({"other": "g1"}, "l.tsv", ["SEQ_A"])
    table = write(tmp_path / "labels.csv", "id,group\nSEQ_A,g1\n")
    with pytest.raises(InputError, match=r"\(it is separated by ','\)"):
        read_labels(table)
