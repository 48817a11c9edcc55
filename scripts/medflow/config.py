"""medflow's configuration: the JSON schema (workflow/schemas/) owns every default.

The Snakefile and a step run by hand both call `fill_and_validate()`, so a job and a hand run see the
same filled, checked configuration; `settings_help()` turns the schema's descriptions into `--help`
text, so no default or description is written twice.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO_ROOT / "workflow" / "schemas"
ROOT_SCHEMA = "config.schema.yaml"


class ConfigError(ValueError):
    """The configuration does not follow the schema (the message names the key)."""


# libyaml's loader where PyYAML was built with it (the wheels are): it reads the schema about ten
# times faster than the pure-Python SafeLoader, and every Snakemake start reads it.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(yaml.YAMLError):
    """A key given twice in one mapping of a YAML file (the message names both lines)."""


class UniqueKeyLoader(SAFE_LOADER):
    """A safe loader that refuses a key given twice in one mapping. PyYAML (and so Snakemake)
    keeps the last silently: a second `sequences:` section would drop every setting of the
    first."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE_TAG:
                    continue  # `<<: *defaults` may be overridden by design
                key = self.construct_object(key_node, deep=deep)
                try:
                    earlier = first.get(key)
                except TypeError:  # an unhashable key: the base loader names it
                    continue
                first[key] = key_node.start_mark.line + 1
                if earlier is not None:
                    raise DuplicateKeyError(
                        f"line {key_node.start_mark.line + 1}: key {key!r} is given a second "
                        f"time (first on line {earlier}); YAML would keep only the last and drop "
                        "the first one's settings without a word. Merge the two into one"
                    )
        return super().construct_mapping(node, deep=deep)


def read_config_file(path: str | Path) -> Any:
    """A config file's content (YAML or JSON); ConfigError naming the file on bad YAML, text
    that is not UTF-8 or a key given twice in one section."""
    path = Path(path)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except DuplicateKeyError as error:
        raise ConfigError(f"config file '{path}', {error}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file '{path}' is not valid UTF-8 YAML: {error}") from None


@cache
def _schema_file(name: str) -> dict:
    return yaml.load((SCHEMA_DIR / name).read_text(), Loader=SAFE_LOADER)


def _registry():
    # jsonschema and referencing are imported here, not at the top: a Snakemake job gets its config
    # already checked and never validates, so it does not pay their import (0.1 s a job).
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    # The branch files carry no $schema of their own: they are parts of one Draft 2020-12 schema,
    # and a $schema there would make jsonschema validate them with the plain (non-filling) class.
    def retrieve(uri: str) -> Resource:
        return DRAFT202012.create_resource(_schema_file(Path(uri).name))

    return Registry(retrieve=retrieve)


def _validator_filling_defaults() -> type:
    """Draft 2020-12, extended to set each missing property to its schema default first.

    The jsonschema FAQ's recipe, which Snakemake's `validate(..., set_default=True)` also follows.
    """
    import jsonschema

    base = jsonschema.Draft202012Validator
    check_properties = base.VALIDATORS["properties"]
    check_type = base.VALIDATORS["type"]

    def fill_then_check(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
                elif name in instance:
                    instance[name] = as_schema_number(instance[name], subschema)
        yield from check_properties(validator, properties, instance, schema)

    def finite_type(validator, types, instance, schema):
        if isinstance(instance, float) and not math.isfinite(instance):
            yield jsonschema.ValidationError(f"{instance} is not a finite number")
            return
        yield from check_type(validator, types, instance, schema)

    return jsonschema.validators.extend(base, {"properties": fill_then_check, "type": finite_type})


# A number as YAML 1.1 (PyYAML, Snakemake) leaves it a string: 1e-4 (a float needs a dot there)
NUMBER_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def schema_types(schema: dict) -> set[str]:
    """The JSON types a (sub)schema allows, its anyOf/oneOf branches included."""
    types = schema.get("type", [])
    found = {types} if isinstance(types, str) else set(types)
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= schema_types(branch)
    return found


def as_schema_number(value: Any, schema: dict) -> Any:
    """A value as the number its schema asks for: '1e-4' (which YAML 1.1 reads as a string) as a
    float, and a whole float (2.0) as an int where only an integer is allowed, so that the steps
    get the type they compute with (range(2.0) and NumPy's seeds refuse floats). Others as given."""
    types = schema_types(schema)
    if isinstance(value, str) and types & {"number", "integer"} and NUMBER_TEXT.fullmatch(value):
        value = float(value)
    if isinstance(value, float) and "integer" in types and "number" not in types:
        return int(value) if value.is_integer() else value
    return value


def fill_and_validate(config: dict) -> dict:
    """A deep copy of `config` with every default filled in and its keys sorted (sorted_keys);
    ConfigError names a bad key."""
    filled = copy.deepcopy(config)
    validator = _validator_filling_defaults()(_schema_file(ROOT_SCHEMA), registry=_registry())
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        message = error.message
        if (
            error.validator in ("not", "anyOf", "oneOf", "pattern")
            and "description" in error.schema
        ):
            # jsonschema's own words ("1 should not be valid under {'const': 1}") say little
            message = f"{error.instance!r} is not allowed: {error.schema['description']}"
        raise ConfigError(f"config key '{where}': {message}")
    return sorted_keys(filled)


def sorted_keys(value: Any) -> Any:
    """Mappings with their keys in sorted order, at every depth (lists keep theirs): the filled
    config is the same whatever order a config file writes its keys in, so Snakemake, which
    compares a rule's params as written, reruns no job for a config that changes no value."""
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


def parse_override(text: str) -> tuple[str, Any]:
    """'a.b.c=VALUE' -> ('a.b.c', VALUE parsed as YAML, so 0.9, true and [x, y] keep their types)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(
            f"--set takes KEY=VALUE (for example sequences.qc.min_length=30): {text!r}"
        )
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {text!r}: the value is not valid YAML ({error})") from None


def set_path(config: dict, path: str, value: Any) -> None:
    """Set config['a']['b']['c'] = value for path 'a.b.c', making missing sections."""
    *parents, leaf = path.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {path}: '{part}' is a value, not a section")
    node[leaf] = value


def get_path(config: dict, path: str) -> Any:
    """config['a']['b']['c'] for path 'a.b.c'."""
    node = config
    for part in path.split("."):
        node = node[part]
    return node


def load_config(configfile: str | Path | None, overrides: Iterable[str] = ()) -> dict:
    """The config file (or none) with --set overrides applied, defaults filled, then validated."""
    config: dict = {}
    if configfile is not None:
        path = Path(configfile)
        if not path.is_file():
            raise ConfigError(f"config file '{path}' does not exist")
        config = read_config_file(path) or {}
        if not isinstance(config, dict):
            raise ConfigError(f"config file '{path}' must hold a mapping of keys to values")
    for text in overrides:
        set_path(config, *parse_override(text))
    return fill_and_validate(config)


def select(config: dict, paths: Iterable[str]) -> dict:
    """Only the parts of a filled config that `paths` name, in the config's own shape."""
    chosen: dict = {}
    for path in paths:
        set_path(chosen, path, copy.deepcopy(get_path(config, path)))
    return chosen


def schema_at(path: str) -> dict:
    """The schema of one dotted config path (following $ref into the branch files)."""
    schema = _schema_file(ROOT_SCHEMA)
    for part in path.split("."):
        schema = schema["properties"][part]
        if "$ref" in schema:
            schema = {**_schema_file(schema["$ref"]), **schema}
    return schema


def keys_under(path: str, schema: dict, sections: bool = False) -> Iterator[tuple[str, dict]]:
    """Every key below `path` with its schema: the values, and with `sections` the objects too."""
    if schema.get("type") == "object" and "properties" in schema:
        if sections:
            yield path, schema
        for name, sub in schema["properties"].items():
            if "$ref" in sub:
                sub = {**_schema_file(sub["$ref"]), **sub}
            yield from keys_under(f"{path}.{name}", sub, sections)
    else:
        yield path, schema


def settings_help(paths: Iterable[str]) -> str:
    """One line per setting under `paths`: key, schema default and description."""
    lines = []
    for path in paths:
        for key, schema in keys_under(path, schema_at(path)):
            default = yaml.safe_dump(schema.get("default"), default_flow_style=True).strip()
            default = default.removesuffix("...").strip()
            description = " ".join(str(schema.get("description", "")).split())
            lines.append(f"  {key} (default {default}): {description}")
    return "\n".join(lines)


def _folds(config: dict) -> int:
    return get_path(config, "imaging.train.folds")


def _cut(*cuts: str) -> Callable[[dict], bool]:
    return lambda config: get_path(config, "sequences.clustering.cut") in cuts


# Settings that take effect only beside another setting: (key, in use under config, when). A run
# that changes one from its default where it has no effect is told so (unused_settings).
CONDITIONAL_SETTINGS: tuple[tuple[str, Callable[[dict], bool], str], ...] = (
    (
        "imaging.train.members",
        lambda c: _folds(c) == 0,
        "with imaging.train.folds: 0 (cross-fitting trains one member per fold)",
    ),
    ("imaging.train.calibrate", lambda c: _folds(c) >= 2, "with cross-fitting (folds >= 2)"),
    ("imaging.train.repeats", lambda c: _folds(c) >= 2, "with cross-fitting (folds >= 2)"),
    *(
        (f"imaging.train.{key}", lambda c: get_path(c, "imaging.train.model") != "seed_cnn", why)
        for key, why in (
            ("width", "by small_cnn and resnet (seed_cnn has its fixed layers)"),
            ("dropout", "by small_cnn and resnet (seed_cnn has its fixed layers)"),
            ("augment", "by small_cnn and resnet (seed_cnn trains on the images as they are)"),
        )
    ),
    (
        "sequences.clustering.e_value",
        _cut("significance"),
        "with sequences.clustering.cut: significance",
    ),
    (
        "sequences.clustering.threshold",
        _cut("distance", "significance"),
        "with cut: distance (or as the fallback of significance)",
    ),
    ("sequences.clustering.n_clusters", _cut("count"), "with sequences.clustering.cut: count"),
    (
        "sequences.alignment.strand",
        lambda c: get_path(c, "sequences.alphabet") != "protein",
        "for nucleotide runs (sequences.alphabet is protein)",
    ),
)


def unused_settings(config: dict) -> list[str]:
    """One line per setting of an enabled branch that differs from its default but that the rest
    of the filled `config` leaves without effect (CONDITIONAL_SETTINGS), so a user who set it
    learns why the results did not change."""
    defaults = fill_and_validate({})
    notes = []
    for key, in_use, when in CONDITIONAL_SETTINGS:
        branch = key.split(".")[0]
        value = get_path(config, key)
        if not config[branch]["enabled"] or value == get_path(defaults, key) or in_use(config):
            continue
        notes.append(
            f"config key '{key}' is {value!r}, but it is used only {when}; it has no "
            "effect in this run"
        )
    return notes
