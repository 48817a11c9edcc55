"""The report's front page: headline figures and pictures of every enabled branch, then the run.

Written as an HTML fragment (pictures embedded) that the report's landing page shows first
(workflow/report/workflow.rst includes it), and registered as a result of its own.
"""

from pathlib import Path

from medflow import report
from medflow.step import Context, Port, Step

STEP = Step(
    __doc__,
    inputs=(
        Port("provenance", "results/provenance.json"),
        Port("imaging_metrics", "imaging metrics.json", optional=True),
        Port("imaging_confusion", "imaging confusion matrix PNG", optional=True),
        Port("imaging_roc", "imaging ROC curve PNG", optional=True),
        Port("sequences_summary", "sequences summary.json", optional=True),
        Port("sequences_dendrogram", "sequences dendrogram PNG", optional=True),
        Port("molecules_summary", "molecules summary.tsv (funnel counts)", optional=True),
        Port("molecules_hits", "molecules hits.csv", optional=True),
        Port("molecules_top_hits", "molecules top-hit grid PNG", optional=True),
    ),
    outputs=(Port("page", "the front page, an HTML fragment"),),
)


def main(ctx: Context) -> None:
    given = ctx.input
    sections = []
    if given.imaging_metrics:
        rows = report.imaging_rows(report.load_json(given.imaging_metrics[0]))
        pictures = [(given.imaging_confusion[0], "confusion matrix"), (given.imaging_roc[0], "ROC")]
        sections.append(report.section("Medical images", rows, pictures))
    if given.sequences_summary:
        rows = report.sequences_rows(report.load_json(given.sequences_summary[0]))
        pictures = [(given.sequences_dendrogram[0], "dendrogram")]
        sections.append(report.section("Sequences", rows, pictures))
    if given.molecules_summary:
        rows = report.molecules_rows(given.molecules_summary[0], given.molecules_hits[0])
        pictures = [(given.molecules_top_hits[0], "top hits")]
        sections.append(report.section("Molecules", rows, pictures))
    provenance = report.provenance_rows(report.load_json(given.provenance))
    Path(ctx.output.page).parent.mkdir(parents=True, exist_ok=True)
    Path(ctx.output.page).write_text(report.front_page(sections, provenance))


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
