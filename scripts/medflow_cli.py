"""One entry point for every medflow step: the same main() runs under Snakemake and by hand.

A step script defines `build_parser()` (argparse, with `--help`), `from_snakemake(smk)` (the
Snakemake object turned into the same keyword arguments) and `main(**kwargs)`; its last lines are

    if __name__ == "__main__":
        run_step(main, build_parser, from_snakemake, globals().get("snakemake"))
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("medflow")


class InputError(Exception):
    """A problem with the user's input: shown as one clear message, never as a traceback."""


def configure_logging(log_path: str | Path | None) -> None:
    """Send logging (and, under Snakemake, all of stderr) to the rule's log file."""
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        sys.stderr = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


def progress(items: Iterable[T], total: int | None = None, desc: str = "") -> Iterator[T]:
    """Progress for loops over many records: a live bar on a terminal, log lines in a file."""
    from tqdm import tqdm

    on_terminal = sys.stderr.isatty()
    yield from tqdm(
        items,
        total=total,
        desc=desc,
        file=sys.stderr,
        mininterval=0.5 if on_terminal else 15.0,
        ascii=not on_terminal,
        dynamic_ncols=on_terminal,
    )


def add_common_args(parser: argparse.ArgumentParser, threads: bool = True) -> None:
    """Options every step shares: --log and (for steps that parallelize) --threads."""
    if threads:
        parser.add_argument(
            "--threads", type=int, default=1, help="worker threads/processes (default: 1)"
        )
    parser.add_argument("--log", default=None, help="write the log here instead of stderr")


def run_step(
    main: Callable[..., Any],
    build_parser: Callable[[], argparse.ArgumentParser],
    from_snakemake: Callable[[Any], dict[str, Any]],
    smk: Any = None,
) -> None:
    """Call main() with arguments from Snakemake or the command line; exit 1 on bad input."""
    if smk is not None:
        kwargs = from_snakemake(smk)
        log_path = smk.log[0] if len(smk.log) else None
    else:
        kwargs = vars(build_parser().parse_args())
        log_path = kwargs.pop("log", None)
    configure_logging(log_path)
    try:
        main(**kwargs)
    except InputError as error:
        log.error("%s", error)
        if log_path is not None:
            print(f"medflow: {error}", file=sys.__stderr__)
        sys.exit(1)
