"""The library-wide tables: processed chunks gathered into unique molecules (duplicates merged by
InChIKey, every source ID and record kept), then ranked hits, rejects and a summary whose counts
must add up: records in = hits + rejects + duplicates merged into another record.

Gathering streams: it reads a few identity columns of every chunk to find the duplicates, then
writes the outputs one chunk at a time, so memory follows the chunk size, not the library's.
`all_ids` and `all_records` are JSON lists (an ID may itself hold ';').
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from medflow.molecules import screen
from medflow.molecules.io import FAILED_STAGES, REJECT_COLUMNS, encode_list

IDENTITY = ["inchikey", "smiles", "id", "file", "record", "input_smiles", "removed_fragments"]
SOURCES = ["n_records", "all_ids", "all_records"]
HIT_COLUMNS = ["rank", "score", "id", "inchikey", "smiles", "forcefield", "energy_kcal_mol"]
SCREEN_REJECT_COLUMNS = [*REJECT_COLUMNS, "not_reached", *SOURCES[1:]]
KEYS = ["inchikey", "stage", "id", "file", "record"]


def descriptor_columns(columns: list[str]) -> list[str]:
    """Descriptor columns of a processed chunk: everything after 'inchikey'."""
    return columns[columns.index("inchikey") + 1 :]


def merge_sources(keys: pd.DataFrame) -> pd.DataFrame:
    """Per InChIKey of the standardized records: n_records, all_ids, all_records (JSON lists).

    Most molecules come from one record: those are encoded directly, and only the InChIKeys seen
    more than once are grouped (keeping input order within each group).
    """
    standardized = keys[~keys["stage"].isin(FAILED_STAGES)]
    repeated = standardized["inchikey"].duplicated(keep=False)
    parts = []
    once = standardized[~repeated]
    parts.append(
        pd.DataFrame(
            {
                "n_records": 1,
                "all_ids": [encode_list([name]) for name in once["id"].tolist()],
                "all_records": [
                    encode_list([[file, record]])
                    for file, record in zip(
                        once["file"].tolist(), once["record"].astype(int).tolist(), strict=True
                    )
                ],
            },
            index=pd.Index(once["inchikey"], name="inchikey"),
        )
    )
    many = standardized[repeated]
    if not many.empty:
        groups: dict[str, tuple[list, list]] = {}
        columns = [many[c].tolist() for c in ("inchikey", "id", "file")]
        for key, name, file, record in zip(
            *columns, many["record"].astype(int).tolist(), strict=True
        ):
            ids, where = groups.setdefault(key, ([], []))
            ids.append(name)
            where.append([file, record])
        parts.append(
            pd.DataFrame(
                {
                    "n_records": [len(ids) for ids, _ in groups.values()],
                    "all_ids": [encode_list(ids) for ids, _ in groups.values()],
                    "all_records": [encode_list(where) for _, where in groups.values()],
                },
                index=pd.Index(list(groups), name="inchikey"),
            )
        )
    return pd.concat(parts)


def count_stages(keys: pd.DataFrame, input_rejects: int, unique: int) -> dict[str, int]:
    stages = keys["stage"]
    standardized = int((~stages.isin(FAILED_STAGES)).sum())
    return {
        "records_in": len(keys) + input_rejects,
        "input_rejects": input_rejects,
        "parse_failed": int((stages == "parse").sum()),
        "standardize_failed": int((stages == "standardize").sum()),
        "descriptors_failed": int((stages == "descriptors").sum()),
        "standardized": standardized,
        "duplicates_merged": standardized - unique,
        "unique_molecules": unique,
    }


def shared_ids(keys: pd.DataFrame, examples: int = 5) -> str:
    """A warning when records share an ID ('' when none do): how many IDs, how many of them name
    different molecules (kept apart, each with its own row), and a few examples."""
    named = keys.loc[keys["id"].duplicated(keep=False), ["id", "inchikey", "file", "record"]]
    if named.empty:
        return ""
    molecules = named.groupby("id", sort=False)["inchikey"].nunique()
    different = molecules[molecules > 1]
    shown = []
    for name in (different if len(different) else molecules).index[:examples]:
        where = named[named["id"] == name]
        places = ", ".join(f"{f}:{r}" for f, r in zip(where["file"], where["record"], strict=True))
        shown.append(f"{name!r} ({places})")
    return (
        f"{len(molecules)} IDs are shared by more than one record, {len(different)} of them by "
        f"different molecules (each keeps its own row under the same ID; all_records tells "
        f"them apart), e.g. {'; '.join(shown)}. Give each record its own ID"
    )


class TableSink:
    """One output table written a part at a time: CSV (header once) or Parquet (row groups)."""

    def __init__(self, path: str, columns: list[str] | None = None):
        self.path, self.columns = path, columns
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.started = False

    def write(self, frame: pd.DataFrame) -> None:
        frame = frame if self.columns is None else frame[self.columns]
        if self.path.endswith(".parquet"):
            table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
            if self.writer is None:
                self.schema = table.schema
                self.writer = pq.ParquetWriter(self.path, self.schema)
            self.writer.write_table(table)
        else:
            frame.to_csv(
                self.path, mode="a" if self.started else "w", header=not self.started, index=False
            )
        self.started = True

    def close(self, empty: pd.DataFrame) -> None:
        if not self.started:
            self.write(empty)
        if self.writer is not None:
            self.writer.close()


def gather(
    chunks: list[str], input_rejects: pd.DataFrame, outputs: dict[str, str]
) -> dict[str, Any]:
    """Write the unique molecules (standardized, descriptors, screened) and the failed records.

    Returns the counts, the first failed records (for a message when nothing is usable) and a
    warning about IDs shared by several records ('' if none); writes nothing when no record gave a
    usable molecule.
    """
    keys = pd.concat([pd.read_parquet(path, columns=KEYS) for path in chunks], ignore_index=True)
    sources = merge_sources(keys)
    counts = count_stages(keys, len(input_rejects), len(sources))
    warning = shared_ids(keys)
    if sources.empty:
        examples = [pd.read_parquet(path, columns=REJECT_COLUMNS).head(5) for path in chunks[:5]]
        return {"counts": counts, "failed": pd.concat(examples).head(5), "shared_ids": warning}
    usable = ~keys["stage"].isin(FAILED_STAGES)
    first = usable & ~keys["inchikey"].where(usable).duplicated()
    del keys
    columns = pq.read_schema(chunks[0]).names
    names = descriptor_columns(columns)
    sinks = {
        "standardized": TableSink(outputs["standardized"], [*IDENTITY, *SOURCES]),
        "descriptors_parquet": TableSink(
            outputs["descriptors_parquet"], ["inchikey", "id", "smiles", *names]
        ),
        "descriptors_csv": TableSink(
            outputs["descriptors_csv"], ["inchikey", "id", "smiles", *names]
        ),
        "screened": TableSink(outputs["screened"]),
        "record_rejects": TableSink(outputs["record_rejects"], REJECT_COLUMNS),
    }
    sinks["record_rejects"].write(input_rejects)
    offset = 0
    for path in chunks:
        frame = pd.read_parquet(path)
        mask = first.iloc[offset : offset + len(frame)].to_numpy()
        offset += len(frame)
        sinks["record_rejects"].write(frame[frame["stage"].isin(FAILED_STAGES)])
        unique = frame[mask].join(sources, on="inchikey")
        if not unique.empty:
            for name in ("standardized", "descriptors_parquet", "descriptors_csv", "screened"):
                sinks[name].write(unique)
    empty = pd.DataFrame(columns=[*columns, *SOURCES])
    for sink in sinks.values():
        sink.close(empty)
    Path(outputs["counts"]).write_text(json.dumps(counts, indent=2) + "\n")
    return {
        "counts": counts,
        "failed": pd.DataFrame(columns=REJECT_COLUMNS),
        "shared_ids": warning,
    }


def funnel(failed: pd.Series, filters: list[str]) -> list[tuple[str, int]]:
    """Molecules left after applying each filter in turn (the funnel plot's bars)."""
    left = pd.Series(True, index=failed.index)
    steps = [("unique molecules", int(left.sum()))]
    for name in filters:
        left &= ~failed.apply(lambda names, name=name: name in names)
        steps.append((f"after {name}", int(left.sum())))
    return steps


def build_tables(
    screened: pd.DataFrame,
    record_rejects: pd.DataFrame,
    optimized: pd.DataFrame,
    counts: dict,
    filters: list[str],
) -> dict[str, pd.DataFrame]:
    """hits, rejects and summary tables; raises RuntimeError if the counts do not add up."""
    embed_failed = optimized[optimized["status"] == "failed"].set_index("inchikey")["reason"]
    failed_3d = screened["inchikey"].isin(embed_failed.index)
    screened = screened.assign(
        stage=screened["stage"].mask(failed_3d, "optimize"),
        reasons=screened["reasons"].mask(failed_3d, screened["inchikey"].map(embed_failed)),
    )
    passed = screened[screened["stage"] == ""]
    energies = optimized[optimized["status"] == "ok"][["inchikey", "forcefield", "energy_kcal_mol"]]
    hits = screen.rank_hits(passed).merge(energies, on="inchikey", how="left")
    skip = ("stage", "reasons", "failed_filters", "not_reached")
    extra = [c for c in hits.columns if c not in HIT_COLUMNS and c not in skip]
    hits = hits[HIT_COLUMNS + extra]
    rejected = screened[screened["stage"] != ""]
    rejects = pd.concat([record_rejects, rejected[SCREEN_REJECT_COLUMNS]], ignore_index=True)
    rejects[["not_reached", *SOURCES[1:]]] = rejects[["not_reached", *SOURCES[1:]]].fillna("")
    failed = screened["failed_filters"].str.split(";").apply(set)
    not_reached = screened["not_reached"].str.len().gt(0)
    rows = [("input", key, value) for key, value in counts.items()]
    rows += [
        ("screen", f"failing {name}", int(failed.apply(lambda s, n=name: n in s).sum()))
        for name in filters
    ]
    rows += [("funnel", step, value) for step, value in funnel(failed, filters)]
    rows += [
        ("screen", "screened out", int((screened["stage"] == "screen").sum())),
        ("screen", "later checks skipped (early exit)", int(not_reached.sum())),
        ("optimize", "optimized in 3D", int((optimized["status"] == "ok").sum())),
        ("optimize", "embedding or minimization failed", len(embed_failed)),
        ("output", "hits", len(hits)),
        ("output", "rejects", len(rejects)),
    ]
    if counts["records_in"] != len(hits) + len(rejects) + counts["duplicates_merged"]:
        raise RuntimeError(f"counts do not add up: {rows}")
    summary = pd.DataFrame(rows, columns=["section", "step", "count"])
    return {"hits": hits, "rejects": rejects, "summary": summary}
