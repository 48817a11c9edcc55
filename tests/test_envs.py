"""The conda route and the pip route pin the same versions, and every rule names an env file."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import REPO

ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
EXACT_CONDA = re.compile(r"^([A-Za-z0-9_.\-]+)==?([0-9][A-Za-z0-9_.+\-]*)$")
EXACT_PIP = re.compile(r"^([A-Za-z0-9_.\-]+)==([0-9][A-Za-z0-9_.+\-]*)$")


# conda-forge names that differ from the PyPI name of the same library
CONDA_TO_PIP = {"matplotlib-base": "matplotlib"}
# conda packages with no PyPI counterpart to agree with: the installer of a `pip:` section
CONDA_ONLY = {"pip"}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def same_version(conda: str, pip: str) -> bool:
    """conda-forge spells some versions zero-padded (rdkit 2026.09.1 is PyPI's 2026.9.1)."""

    def parts(version: str) -> list[str]:
        return [part.lstrip("0") or "0" for part in version.split(".")]

    return parts(conda) == parts(pip)


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
        if dep.strip() in CONDA_ONLY:
            continue
        match = EXACT_CONDA.match(dep.replace(" ", ""))
        assert match, f"{path.name}: '{dep}' is not pinned to an exact version"
        name = normalize(match[1])
        pins[CONDA_TO_PIP.get(name, name)] = match[2]
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
        assert same_version(version, requirements[name]), (
            f"{env_file.name} pins {name}={version}, requirements.txt has {requirements[name]}"
        )


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.name)
def test_env_with_a_pip_section_lists_pip_and_avoids_qt(env_file):
    deps = yaml.safe_load(env_file.read_text())["dependencies"]
    names = [dep.split("=")[0].strip() for dep in deps if isinstance(dep, str)]
    if any(isinstance(dep, dict) for dep in deps):
        assert "pip" in names, f"{env_file.name} has a pip: section but does not list pip"
    assert "matplotlib" not in names, f"{env_file.name}: use matplotlib-base (no Qt in jobs)"


def test_zero_padded_conda_versions_match_pip_spelling():
    assert same_version("2026.09.1", "2026.9.1") and not same_version("2026.09.1", "2026.9.2")


def test_every_conda_directive_names_an_existing_env():
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', smk.read_text()):
            assert (smk.parent / env).resolve().is_file(), f"{smk.name}: conda env {env} missing"


def test_constraints_agree_with_requirements():
    constraints = pip_pins(REPO / "constraints.txt")
    for name, version in pip_pins().items():
        assert constraints.get(name) == version, f"constraints.txt disagrees on {name}"
