"""The step interface: settings filled from the schema, hand runs and Snakemake jobs alike."""

from __future__ import annotations

import io
import subprocess
import sys
from types import SimpleNamespace

import pytest
import yaml
from conftest import REPO

from medflow import step
from medflow.config import (
    ConfigError,
    fill_and_validate,
    get_path,
    load_config,
    read_config_file,
    set_path,
    settings_help,
    unused_settings,
)
from medflow.step import DeclarationError, Port, Step, parse_ports

TOY_SCRIPT = '''"""A toy step.

Inputs:
    table: a table
    extra (optional): optional
Outputs:
    out: result
"""
'''


@pytest.fixture(scope="module")
def STEP(tmp_path_factory):
    script = tmp_path_factory.mktemp("toy") / "toy_step.py"
    script.write_text(TOY_SCRIPT)
    return Step(script, settings=("seed", "sequences.qc"))


def test_ports_are_read_from_the_docstring_sections():
    doc = """Do a thing.

Inputs:
    fasta (many): input FASTA files,
        plain or gzipped
    labels (optional): labels table
    qc: QC table
Outputs:
    table: the result

Inputs: in prose, after a blank line, is not a section heading.
"""
    ports = parse_ports(doc)
    assert ports["inputs"] == (
        Port("fasta", "input FASTA files, plain or gzipped", many=True),
        Port("labels", "labels table", optional=True),
        Port("qc", "QC table"),
    )
    assert ports["outputs"] == (Port("table", "the result"),)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("Inputs:\n    fasta - the input\n", r"toy\.py, line 2: 'fasta - the input' is not a port"),
        ("Inputs:\n    a (few): x\n", "line 2"),
        ("Inputs:\n    a: x\nOutputs:\n    a: y\n", "a repeat"),
    ],
)
def test_a_port_line_that_does_not_parse_names_the_script_and_line(doc, message):
    with pytest.raises(DeclarationError, match=message):
        parse_ports(doc, where="toy.py")


def test_schema_fills_nested_defaults_in_every_branch():
    config = fill_and_validate({})
    assert config["imaging"]["enabled"] is True and config["imaging"]["train"]["epochs"] > 0
    assert config["sequences"]["qc"]["min_length"] > 0
    assert config["molecules"]["filters"]["lipinski"] is True


def test_config_yaml_restates_no_default_differently():
    """config.yaml names the example inputs; every value it sets equals the schema's default."""
    given = yaml.safe_load((REPO / "config.yaml").read_text())
    defaults = fill_and_validate({})

    def check(node, prefix=""):
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict):
                check(value, f"{path}.")
            else:
                assert get_path(defaults, path) == value, f"config.yaml sets {path} != schema"

    check(given)


def test_bad_values_name_the_key():
    with pytest.raises(ConfigError, match=r"sequences\.qc\.min_length"):
        fill_and_validate({"sequences": {"qc": {"min_length": "long"}}})
    with pytest.raises(ConfigError, match="min_lenght"):
        fill_and_validate({"sequences": {"qc": {"min_lenght": 3}}})


def test_overrides_keep_yaml_types(tmp_path):
    config = load_config(None, ["sequences.qc.min_length=31", "imaging.enabled=false"])
    assert config["sequences"]["qc"]["min_length"] == 31
    assert config["imaging"]["enabled"] is False
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_config(None, ["no-equals-sign"])


def test_numbers_are_read_as_the_schema_types_them(tmp_path):
    # YAML 1.1 reads 1e-4 as a string (a float needs a dot); 2.0 passes JSON Schema's integer
    # check but range(2.0) and NumPy's seeds refuse it
    config_file = tmp_path / "c.yaml"
    config_file.write_text(
        "sequences:\n  clustering: {e_value: 1e-5}\nimaging:\n  train: {learning_rate: 2E-3}\n"
    )
    config = load_config(
        config_file, ["sequences.alignment.block_size=2.0", "seed=42.0", "molecules.chunk_size=1e3"]
    )
    assert config["sequences"]["clustering"]["e_value"] == 1e-5
    assert config["imaging"]["train"]["learning_rate"] == 0.002
    for path, value in (
        ("sequences.alignment.block_size", 2),
        ("seed", 42),
        ("molecules.chunk_size", 1000),
    ):
        assert get_path(config, path) == value and type(get_path(config, path)) is int
    assert load_config(None, ["molecules.id_column=1e3"])["molecules"]["id_column"] == "1e3"


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("sequences.clustering.e_value=.nan", "nan is not a finite number"),
        ("imaging.evaluate.threshold=.inf", "inf is not a finite number"),
        ("seed=2147483648", "greater than the maximum of 2147483647"),
        ("seed=2.5", "not of type 'integer'"),
    ],
)
def test_numbers_that_no_step_can_use_are_refused(override, said):
    with pytest.raises(ConfigError, match=said):
        load_config(None, [override])


def test_context_holds_only_declared_settings(STEP):
    ctx = STEP.context({"table": "t.tsv"}, {"out": "o"}, overrides={"seed": 5})
    assert set(ctx.config) == {"seed", "sequences"} and set(ctx.config["sequences"]) == {"qc"}
    assert ctx.config["seed"] == 5 and ctx.input.extra == [] and ctx.input.table == "t.tsv"


def test_snakemake_job_and_hand_run_build_the_same_context(STEP):
    config = fill_and_validate({"seed": 9})
    settings = {path: get_path(config, path) for path in STEP.settings}
    smk = SimpleNamespace(
        rule="toy",
        input=SimpleNamespace(table="t.tsv", extra=["e.tsv"]),
        output=SimpleNamespace(out="o"),
        params=SimpleNamespace(settings=settings),
        threads=1,
        wildcards={},
        log=[],
    )
    by_snakemake = STEP.from_snakemake(smk)
    by_hand = STEP.from_command_line(["t.tsv", "o", "--extra", "e.tsv", "--set", "seed=9"])
    assert by_snakemake == by_hand


def test_a_rule_that_passes_other_settings_is_refused(STEP):
    smk = SimpleNamespace(rule="toy", params=SimpleNamespace(settings={"seed": 1}))
    with pytest.raises(RuntimeError, match="get_settings"):
        STEP.from_snakemake(smk)


def test_help_explains_every_setting_from_the_schema():
    text = settings_help(["sequences.qc"])
    assert "sequences.qc.min_length (default 20)" in text
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "provenance.py"), "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0 and "imaging.train.epochs (default" in proc.stdout


def test_a_finished_step_freezes_the_collector_so_its_exit_is_quick(tmp_path):
    """After main returns, Step.run moves every object to gc's permanent generation, which the
    interpreter's shutdown collections skip; a step that fails on bad input does not get there."""
    script = tmp_path / "toy_run.py"
    script.write_text(
        TOY_SCRIPT
        + "import gc\nimport sys\nfrom pathlib import Path\n"
        + f"sys.path.insert(0, {str(REPO / 'scripts')!r})\n"
        + "from medflow.step import InputError, Step\n"
        + "STEP = Step(__file__)\n"
        + "def main(ctx):\n"
        + "    if Path(ctx.input.table).read_text() == 'bad':\n"
        + "        raise InputError('bad table')\n"
        + "    Path(ctx.output.out).write_text(str(gc.get_freeze_count()))\n"
        + "STEP.run(main)\n"
        + "print('frozen', gc.get_freeze_count() > 0)\n"
    )
    table, out = tmp_path / "table.txt", tmp_path / "out.txt"
    table.write_text("good")
    run = [sys.executable, str(script), str(table), str(out)]
    proc = subprocess.run(run, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == "0", "the collector was frozen before main ran"
    assert proc.stdout.strip() == "frozen True"
    table.write_text("bad")
    proc = subprocess.run(run, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1 and "bad table" in proc.stderr


def test_with_a_log_file_all_of_stderr_goes_to_it_and_the_stopping_message_to_the_terminal(
    tmp_path,
):
    """What C and C++ libraries write to file descriptor 2 (TensorFlow's notices) lands in the
    job's log like Python's logging; the message of a step stopped by bad input still reaches the
    terminal."""
    script = tmp_path / "toy_log.py"
    script.write_text(
        TOY_SCRIPT
        + "import os\nimport sys\nfrom pathlib import Path\n"
        + f"sys.path.insert(0, {str(REPO / 'scripts')!r})\n"
        + "from medflow.step import InputError, Step, log\n"
        + "STEP = Step(__file__)\n"
        + "def main(ctx):\n"
        + "    os.write(2, b'written to fd 2 by a library\\n')\n"
        + "    log.info('logged by the step')\n"
        + "    if Path(ctx.input.table).read_text() == 'bad':\n"
        + "        raise InputError('bad table')\n"
        + "    Path(ctx.output.out).write_text('done')\n"
        + "STEP.run(main)\n"
    )
    table, out, log_file = tmp_path / "table.txt", tmp_path / "out.txt", tmp_path / "job.log"
    table.write_text("good")
    run = [sys.executable, str(script), str(table), str(out), "--log", str(log_file)]
    proc = subprocess.run(run, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    text = log_file.read_text()
    assert "written to fd 2 by a library" in text and "logged by the step" in text
    assert proc.stderr == ""
    table.write_text("bad")
    proc = subprocess.run(run, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1 and proc.stderr.strip() == "medflow: bad table"
    assert "bad table" in log_file.read_text()


def test_a_hand_run_that_leaves_out_an_output_stops_instead_of_overwriting_an_input(tmp_path):
    precious = tmp_path / "precious.smi"
    precious.write_text("CCO a\n")
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "provenance.py"), str(precious)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2 and "required: record" in proc.stderr
    assert precious.read_text() == "CCO a\n"


def test_a_hand_run_naming_one_file_as_input_and_output_is_refused(tmp_path, capsys):
    script = tmp_path / "many_step.py"
    script.write_text(
        '"""Toy.\n\nInputs:\n    tables (many): tables\n    pairs (many or none): pairs\n'
        'Outputs:\n    out: result\n"""\n'
    )
    step = Step(script)
    assert step.inputs[1] == Port("pairs", "pairs", many=True, may_be_empty=True)
    ctx = step.from_command_line(["a.tsv", "b.tsv", "o.tsv"])  # pairs, an option, stays empty
    assert ctx.input.tables == ["a.tsv", "b.tsv"] and ctx.input.pairs == []
    with pytest.raises(SystemExit):
        step.from_command_line(["o.tsv"])  # one or more tables
    with pytest.raises(SystemExit):
        step.from_command_line([str(tmp_path / "a.tsv"), str(tmp_path / "." / "a.tsv")])
    assert "output out (" in capsys.readouterr().err


def test_a_list_that_may_be_empty_stays_positional_and_optional(tmp_path):
    script = tmp_path / "plot_step.py"
    script.write_text(
        '"""Toy.\n\nInputs:\n    summary: s\n    pairs (many or none): pairs\n'
        'Outputs:\n    png: figure\n"""\n'
    )
    ctx = Step(script).from_command_line(["s.json", "p.png"])
    assert ctx.input.pairs == [] and ctx.output.png == "p.png"


def test_a_hand_run_refuses_a_key_given_twice_but_keeps_merge_keys(tmp_path):
    twice = tmp_path / "twice.yaml"
    twice.write_text("seed: 1\nsequences:\n  qc: {min_length: 5, min_length: 9}\n")
    with pytest.raises(ConfigError, match=r"line 3: key 'min_length' is given a second time"):
        load_config(twice)
    merged = tmp_path / "merged.yaml"  # an explicit key may override one merged in by `<<`
    merged.write_text("base: &d {x: 1, y: 2}\nmine:\n  <<: *d\n  x: 3\n")
    assert read_config_file(merged)["mine"] == {"x": 3, "y": 2}


def test_a_molecule_file_of_another_format_is_refused_saying_what_to_do():
    with pytest.raises(ConfigError, match=r"'lib.xlsx' is not allowed: .*export it as CSV or SDF"):
        load_config(None, ["molecules.inputs=[lib.xlsx]"])


def test_the_filled_config_does_not_depend_on_the_order_keys_are_written_in():
    # Snakemake compares a rule's params by repr: a config restating defaults in another order
    # (or one default value alone, placed first) reran the whole branch
    a = {"molecules": {"filters": {"veber": True, "lipinski": True}}}
    b = {"molecules": {"filters": {"lipinski": True, "veber": True}}}
    c = {"molecules": {"filters": {"alerts": ["PAINS_A", "PAINS_B", "PAINS_C", "METALS"]}}}
    filled = [repr(fill_and_validate(config)) for config in (a, b, c, {})]
    assert len(set(filled)) == 1


def changed(**settings) -> dict:
    config = fill_and_validate({})
    for path, value in settings.items():
        set_path(config, path.replace("__", "."), value)
    return config


def test_unused_settings_name_each_changed_setting_without_effect():
    assert unused_settings(fill_and_validate({})) == []  # the defaults: nothing to say
    notes = unused_settings(
        changed(
            imaging__train__members=5,  # folds 3 by default: one member per fold
            imaging__train__model="seed_cnn",
            imaging__train__width=64,
            sequences__clustering__n_clusters=9,  # cut significance by default
            sequences__clustering__threshold=0.5,  # used: the fallback of significance
        )
    )
    assert [note.split("'")[1] for note in notes] == [
        "imaging.train.members",
        "imaging.train.width",
        "sequences.clustering.n_clusters",
    ]
    assert "is 5, but it is used only with imaging.train.folds: 0" in notes[0]
    # used where the other setting asks for it; a disabled branch says nothing
    assert unused_settings(changed(imaging__train__members=5, imaging__train__folds=0)) == []
    repeats = changed(imaging__train__repeats=2, imaging__train__folds=0)
    assert [note.split("'")[1] for note in unused_settings(repeats)] == ["imaging.train.repeats"]
    assert unused_settings(changed(imaging__train__repeats=2)) == []  # folds 3: used
    assert unused_settings(changed(imaging__train__members=5, imaging__enabled=False)) == []
    count = changed(sequences__clustering__cut="count", sequences__clustering__e_value=0.01)
    assert [note.split("'")[1] for note in unused_settings(count)] == [
        "sequences.clustering.e_value"
    ]


def test_a_job_with_a_log_shows_a_long_loops_count_on_the_terminal(monkeypatch):
    terminal = io.StringIO()
    monkeypatch.setattr(step, "_console", terminal)
    monkeypatch.setattr(step, "_job", step.job_label("logs/sequences/align_pairs/0.log"))
    monkeypatch.setattr(step, "CONSOLE_EVERY", 0.0)  # every item, for the test
    assert list(step.progress(iter("abc"), total=3, desc="aligning")) == ["a", "b", "c"]
    lines = terminal.getvalue().splitlines()
    assert [line.split(", about")[0] for line in lines] == [
        "sequences/align_pairs/0: aligning 1 of 3 (33%)",
        "sequences/align_pairs/0: aligning 2 of 3 (67%)",
        "sequences/align_pairs/0: aligning 3 of 3 (100%)",
    ]
    assert step.count_line("imaging/predict", "reading", 250, 1000, 30.0) == (
        "imaging/predict: reading 250 of 1,000 (25%), about 2 min left"
    )
    assert step.count_line("j", "rows", 12345, None, 5.0) == "j: rows 12,345 done"
    monkeypatch.setattr(step, "_console", None)  # no log file: the terminal has tqdm's own bar
    monkeypatch.setattr(step, "CONSOLE_EVERY", 0.0)
    assert list(step.progress(range(2), total=2)) == [0, 1]
    assert len(terminal.getvalue().splitlines()) == 3


def test_a_hand_run_of_a_list_step_that_leaves_out_an_output_keeps_the_last_input(tmp_path):
    """seq_qc a.fasta b.fasta q.tsv r.tsv s.json (the unique FASTA left out): b.fasta would be
    taken for the unique output and overwritten; the run stops with a usage error instead."""
    a, b = tmp_path / "a.fasta", tmp_path / "b.fasta"
    a.write_text(">a\nMKVLAAGIEEWLLQRSTPFWW\n>b\nPQRSTVWYACDEFGHIKLMN\n")
    b.write_text(">c\nMKVLAAGIQQWLLQRSTPFWW\n")
    before = b.read_bytes()
    outs = [str(tmp_path / name) for name in ("q.tsv", "r.tsv", "s.json")]
    script = str(REPO / "scripts" / "seq_qc.py")
    proc = subprocess.run(
        [sys.executable, script, str(a), str(b), *outs], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 2 and "exists and is named like the fasta inputs" in proc.stderr
    assert b.read_bytes() == before
    unique = str(tmp_path / "unique.fasta")
    for extra in ([], ["--overwrite"]):  # a first run, then a rerun over its own output
        proc = subprocess.run(
            [sys.executable, script, str(a), str(b), unique, *outs, *extra],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert proc.returncode == 0, proc.stderr
    assert b.read_bytes() == before
