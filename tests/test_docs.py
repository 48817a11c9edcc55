"""The README's configuration reference covers every key of the schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import yaml
from conftest import REPO

SCHEMAS = REPO / "workflow" / "schemas"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def schema_keys(schema: dict, prefix: str = "", base: Path = SCHEMAS) -> Iterator[tuple[str, dict]]:
    """Every key path (dotted) with its schema, following relative $ref files."""
    if "$ref" in schema:
        schema = {**load(base / schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}}
    for name, sub in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        if "$ref" in sub:
            sub = {**load(base / sub["$ref"]), **{k: v for k, v in sub.items() if k != "$ref"}}
        yield path, sub
        if sub.get("type") == "object" and "properties" in sub:
            yield from schema_keys(sub, prefix=f"{path}.", base=base)


def all_keys() -> list[tuple[str, dict]]:
    return list(schema_keys(load(SCHEMAS / "config.schema.yaml")))


def test_every_schema_key_has_type_description_and_default():
    for path, sub in all_keys():
        assert "description" in sub, f"schema key {path} has no description"
        assert "type" in sub or "$ref" in sub or "enum" in sub, f"schema key {path} has no type"
        assert "default" in sub, f"schema key {path} has no default"


def test_every_object_forbids_unknown_keys():
    for path, sub in all_keys():
        if sub.get("type") == "object" and "properties" in sub:
            assert sub.get("additionalProperties") is False, f"{path} allows unknown keys"


def test_readme_documents_every_schema_key():
    readme = (REPO / "README.md").read_text()
    missing = [path for path, _ in all_keys() if f"`{path}`" not in readme]
    assert not missing, f"README.md's configuration reference lacks: {missing}"


def test_readme_quick_start_has_exactly_two_commands():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2, commands
    assert commands[0].startswith("make run") and commands[1].startswith("make test")
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci


def test_readme_generated_blocks_are_up_to_date():
    """Config tables come from the schema and figures from bench/results.json, never typed twice."""
    from medflow import readme

    text = (REPO / "README.md").read_text()
    assert "<!-- BEGIN generated: bench -->" in text, "README quotes no generated bench table"
    assert readme.render(text) == text, "README.md is stale: run `make readme`"


def test_readme_config_tables_are_generated_for_every_branch():
    text = (REPO / "README.md").read_text()
    for branch in ("molecules", "sequences", "imaging"):
        assert f"<!-- BEGIN generated: config {branch} -->" in text, f"{branch} table typed by hand"


def test_family_sets_table_gives_each_sets_columns(tmp_path):
    """The README's table of Pfam sets is bench_pfam_sets's rows, the default's figure in bold."""
    from medflow import readme

    columns = {
        "default": {"ari": 0.9281, "clusters": 17},
        "MMseqs2 tuned": {"ari": 0.814, "clusters": 52},
    }
    row = {"set": {"name": "12 x 150, seed 100", "sequences": 1800, "columns": columns}}
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"results": {"bench_pfam_sets": [row]}}))
    assert readme.family_sets_table(results).splitlines() == [
        "| set | sequences | default | MMseqs2 tuned |",
        "| --- | --- | --- | --- |",
        "| 12 x 150, seed 100 | 1800 | **0.928 (17)** | 0.814 (52) |",
    ]
