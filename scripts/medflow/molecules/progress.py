"""Progress of the per-molecule pipeline: a chunk job's own count in its log, and the whole
library's count (molecules done of total, rate, time left) on the console of a local run.

The library count needs no bookkeeping of its own: a chunk job reads the row counts of every chunk
beside its own (Parquet metadata, no data), and counts a chunk as done once its processed table
sits beside the job's output, complete and newer than the chunk. "Done" is therefore the finished
chunks plus this job's own molecules; chunk jobs running at the same time do not see each other's
molecules until they finish (locally they run one at a time: each takes all the cores).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TextIO

import pyarrow.parquet as pq

from medflow.step import duration_text

log = logging.getLogger("medflow.molecules")


def overall_line(done: int, total: int, rate: float) -> str:
    """'molecules: 61,000 of 1,000,000 done (6.1%), 205/s, about 1 h 20 min left'."""
    share = 100 * done / total if total else 100.0
    if done >= total:
        left = "all done"
    elif rate > 0:
        left = f"about {duration_text((total - done) / rate)} left"
    else:
        left = "time left not known yet"
    return f"molecules: {done:,} of {total:,} done ({share:.1f}%), {rate:,.0f}/s, {left}"


def rows_of(path: Path) -> int | None:
    """Rows of a Parquet file from its footer; None while it is missing or still being written."""
    try:
        return pq.read_metadata(path).num_rows
    except (OSError, ValueError):  # pyarrow's ArrowInvalid is a ValueError
        return None


class Library:
    """The whole library as seen from one chunk job: every chunk's size, and which are done."""

    def __init__(self, chunk: str | Path, table: str | Path):
        self.chunk, self.processed = Path(chunk), Path(table).parent
        self.sizes = {
            path.name: rows_of(path) or 0 for path in sorted(self.chunk.parent.glob("*.parquet"))
        }
        self.sizes.setdefault(self.chunk.name, rows_of(self.chunk) or 0)
        self.total = sum(self.sizes.values())
        self.finished: dict[str, int] = {}

    def done_elsewhere(self) -> int:
        """Molecules of the other chunks whose processed tables are complete and current."""
        for name, size in self.sizes.items():
            if name == self.chunk.name or name in self.finished:
                continue
            table, chunk = self.processed / name, self.chunk.parent / name
            try:
                current = table.stat().st_mtime >= chunk.stat().st_mtime
            except OSError:
                continue
            if current and rows_of(table) == size:
                self.finished[name] = size
        return sum(self.finished.values())


class Progress:
    """Log lines 'LABEL: N of TOTAL molecules (P%), R molecules/s, about S s left' every `every`
    seconds; with a `library`, also the library's count (overall_line), in the log and on
    `console` (the terminal of a local run, which the log file does not reach)."""

    def __init__(
        self,
        total: int,
        label: str,
        every: float = 10.0,
        library: Library | None = None,
        console: TextIO | None = None,
    ):
        self.total, self.label, self.every = total, label, every
        self.library, self.console = library, console
        self.done = 0
        self.start = self.last = time.perf_counter()
        self.before = library.done_elsewhere() if library else 0

    def update(self, count: int) -> None:
        self.done += count
        now = time.perf_counter()
        if now - self.last < self.every and self.done < self.total:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else float("inf")
        log.info(
            "%s: %d of %d molecules (%.0f%%), %.0f molecules/s, about %.0f s left",
            self.label,
            self.done,
            self.total,
            100 * self.done / max(self.total, 1),
            rate,
            left,
        )
        if self.library is not None:
            done = self.library.done_elsewhere() + self.done
            line = overall_line(done, self.library.total, (done - self.before) / elapsed)
            log.info("%s", line)
            if self.console is not None:
                print(line, file=self.console, flush=True)
