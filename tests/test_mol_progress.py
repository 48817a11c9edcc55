"""Progress you can watch: a chunk's count in its log, the library's count on the console."""

import io
import os

import pandas as pd
import pytest

from medflow.molecules.progress import Library, Progress, duration_text, overall_line


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (45.4, "45 s"), (89, "1 min"), (720, "12 min"), (4800, "1 h 20 min")],
)
def test_time_left_in_words(seconds, text):
    assert duration_text(seconds) == text


def test_overall_line_gives_done_of_total_rate_and_time_left():
    # 939,000 molecules left at 205/s: 4580 s, 76 min.
    assert overall_line(61_000, 1_000_000, 205.0) == (
        "molecules: 61,000 of 1,000,000 done (6.1%), 205/s, about 1 h 16 min left"
    )
    assert overall_line(30_000, 30_000, 190.4) == (
        "molecules: 30,000 of 30,000 done (100.0%), 190/s, all done"
    )
    assert overall_line(0, 500, 0.0).endswith("0/s, time left not known yet")


def write_chunk(path, rows: int) -> None:
    pd.DataFrame({"id": [f"m{i}" for i in range(rows)]}).to_parquet(path, index=False)


@pytest.fixture
def library(tmp_path):
    """Chunks of 5, 5, 4 and 3 rows; 0001 processed, 0002 processed by an older run (stale),
    0003 half written; the job runs 0004."""
    chunks, processed = tmp_path / "chunks", tmp_path / "processed"
    chunks.mkdir()
    processed.mkdir()
    write_chunk(processed / "0002.parquet", 5)  # written before the chunks: an older run's
    for number, rows in ((1, 5), (2, 5), (3, 4), (4, 3)):
        write_chunk(chunks / f"{number:04d}.parquet", rows)
    stale = (chunks / "0002.parquet").stat().st_mtime - 60
    os.utime(processed / "0002.parquet", (stale, stale))
    write_chunk(processed / "0001.parquet", 5)
    (processed / "0003.parquet").write_bytes(b"PAR1 half written")
    return Library(chunks / "0004.parquet", processed / "0004.parquet")


def test_library_counts_the_chunks_beside_the_job_and_only_finished_current_ones(library):
    assert library.total == 17
    assert library.done_elsewhere() == 5


def test_progress_prints_the_library_count_on_the_console(library, caplog):
    caplog.set_level("INFO", logger="medflow.molecules")
    console = io.StringIO()
    progress = Progress(total=3, label="chunk 0004", every=0.0, library=library, console=console)
    progress.update(2)
    write_chunk(library.processed / "0003.parquet", 4)  # another job finishes meanwhile
    progress.update(1)
    lines = console.getvalue().splitlines()
    assert lines[0].startswith("molecules: 7 of 17 done (41.2%), ")
    assert lines[1].startswith("molecules: 12 of 17 done (70.6%), ")
    assert "chunk 0004: 2 of 3 molecules (67%)" in caplog.text
    assert lines[1] in caplog.text  # the log file gets the library's count too
