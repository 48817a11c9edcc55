"""provenance.py: checksums, config hash and version record."""

import hashlib
import json
import subprocess
import sys

import provenance
from conftest import REPO

from medflow.origin import config_hash


def test_sha256_matches_hashlib(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"medflow\n" * 1000)
    assert provenance.sha256_of(path) == hashlib.sha256(b"medflow\n" * 1000).hexdigest()


def test_config_hash_ignores_key_order_but_not_values():
    a = config_hash({"seed": 1, "molecules": {"enabled": True}})
    b = config_hash({"molecules": {"enabled": True}, "seed": 1})
    c = config_hash({"molecules": {"enabled": False}, "seed": 1})
    assert a == b != c


def test_record_names_commit_versions_and_inputs(tmp_path):
    data = tmp_path / "in.smi"
    data.write_text("CCO ethanol\n")
    record = provenance.build_provenance({"seed": 42}, [str(data)], REPO)
    assert record["inputs"] == {str(data): provenance.sha256_of(data)}
    assert record["medflow"]["version"] == "0.1.0"
    assert len(record["medflow"]["git_commit"] or "") == 40
    assert record["libraries"]["rdkit"] == record["pinned_requirements"]["rdkit"]


def test_command_line_writes_the_same_record_twice(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("seed: 7\n")
    outputs = []
    for name in ("a.json", "b.json"):
        out = tmp_path / name
        cmd = [sys.executable, str(REPO / "scripts" / "provenance.py"), "--configfile", str(config)]
        # the config file as the input to checksum (a hand run names at least one input file)
        subprocess.run(
            [*cmd, "--set", "sequences.qc.min_length=33", str(config), str(out)], check=True
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    recorded = json.loads(outputs[0])["config"]
    assert recorded["seed"] == 7 and recorded["sequences"]["qc"]["min_length"] == 33
    assert recorded["imaging"]["train"]["epochs"] > 0, "defaults are filled from the schema"
    assert str(config) in json.loads(outputs[0])["inputs"]


def test_a_folder_input_counts_as_every_file_inside(tmp_path):
    folder = tmp_path / "images" / "lesion"
    folder.mkdir(parents=True)
    (folder / "b.png").write_bytes(b"b")
    (folder / "a.png").write_bytes(b"a")
    sums = provenance.input_checksums([str(tmp_path / "images")])
    assert list(sums) == [(folder / "a.png").as_posix(), (folder / "b.png").as_posix()]


def test_the_front_page_log_is_never_read(tmp_path):
    """The front page runs beside provenance, so its log may or may not exist when provenance
    reads the logs: it is left out either way, and the record does not depend on the race."""
    from medflow.versions import MARK

    logs = tmp_path / "logs"
    (logs / "report").mkdir(parents=True)
    (logs / "sequences").mkdir()
    (logs / "sequences" / "qc.log").write_text(MARK + '{"numpy": "2"}\n')
    before = provenance.build_provenance({"seed": 1}, [], REPO, logs)["job_environments"]
    (logs / "report" / "front_page.log").write_text(MARK + '{"numpy": "1"}\n')
    after = provenance.build_provenance({"seed": 1}, [], REPO, logs)["job_environments"]
    assert before == after == [{"versions": {"numpy": "2"}, "job_logs": ["logs/sequences/qc.log"]}]
    # the log the front page's rule writes is the one left out
    rule = (REPO / "workflow" / "rules" / "report.smk").read_text()
    assert all(f'"{path}"' in rule for path in provenance.BESIDE)
