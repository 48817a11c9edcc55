"""The conda route and the pip route pin the same versions, and every rule names an env file."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import REPO

ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
EXACT_CONDA = re.compile(r"^([A-Za-z0-9_.\-]+)==?([0-9][A-Za-z0-9_.+\-]*)$")
EXACT_PIP = re.compile(r"^([A-Za-z0-9_.\-]+)==([0-9][A-Za-z0-9_.+\-]*)$")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_pins(path=REPO / "requirements.txt") -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = EXACT_PIP.match(line)
        assert match, f"requirements.txt: '{line}' is not pinned exactly (name==version)"
        pins[normalize(match[1])] = match[2]
    return pins


def env_pins(path) -> dict[str, str]:
    """Every package an env file pins, conda and pip entries alike; fails on anything unpinned."""
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                match = EXACT_PIP.match(pip_dep.strip())
                assert match, f"{path.name}: pip entry '{pip_dep}' is not pinned with =="
                pins[normalize(match[1])] = match[2]
            continue
        match = EXACT_CONDA.match(dep.replace(" ", ""))
        assert match, f"{path.name}: '{dep}' is not pinned to an exact version"
        pins[normalize(match[1])] = match[2]
    return pins


def test_there_is_an_env_per_branch():
    names = {p.stem for p in ENV_FILES}
    assert {"molecules", "sequences", "imaging"} <= names


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_file_pins_exactly_and_agrees_with_pip_pins(env_file):
    env = yaml.safe_load(env_file.read_text())
    assert env["channels"] == ["conda-forge", "bioconda"], f"{env_file.name}: channels"
    pins = env_pins(env_file)
    assert pins.get("python", "").startswith("3.11"), f"{env_file.name} must pin python=3.11"
    requirements = pip_pins()
    for name, version in pins.items():
        if name == "python":
            continue
        assert name in requirements, f"{env_file.name} pins {name}, absent from requirements.txt"
        assert requirements[name] == version, (
            f"{env_file.name} pins {name}={version}, requirements.txt has {requirements[name]}"
        )


def test_every_conda_directive_names_an_existing_env():
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', smk.read_text()):
            assert (smk.parent / env).resolve().is_file(), f"{smk.name}: conda env {env} missing"


def test_constraints_agree_with_requirements():
    constraints = pip_pins(REPO / "constraints.txt")
    for name, version in pip_pins().items():
        assert constraints.get(name) == version, f"constraints.txt disagrees on {name}"
