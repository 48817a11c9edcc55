"""The report's front page: headline figures and pictures of every enabled branch, then the run;
the same figures are printed on the terminal, a line per branch, as the run ends.

Written as an HTML fragment (pictures embedded) that the report's landing page shows first
(workflow/report/workflow.rst includes it), and registered as a result of its own. The run's
seed, config hash and commit come from the config as run (medflow.origin, as provenance.json's
do), so the page runs beside provenance instead of after it.

Inputs:
    imaging_metrics (optional): imaging metrics.json
    imaging_confusion (optional): imaging confusion matrix PNG
    imaging_roc (optional): imaging ROC curve PNG
    imaging_diagnoses (optional): imaging diagnoses.tsv of the new images
    imaging_predict_rejects (optional): imaging predictions rejects.tsv
    sequences_summary (optional): sequences summary.json
    sequences_dendrogram (optional): sequences dendrogram PNG
    molecules_summary (optional): molecules summary.tsv (funnel counts)
    molecules_hits (optional): molecules hits.csv
    molecules_top_hits (optional): molecules top-hit grid PNG
Outputs:
    page: the front page, an HTML fragment
"""

from pathlib import Path

from medflow import report
from medflow.config import REPO_ROOT
from medflow.origin import origin
from medflow.step import Context, Step, console

STEP = Step(__file__, settings=("seed", "molecules", "sequences", "imaging"))


def main(ctx: Context) -> None:
    given = ctx.input
    branches = []
    if given.imaging_metrics:
        rows = report.imaging_rows(report.load_json(given.imaging_metrics[0]))
        if given.imaging_diagnoses:
            diagnoses, rejects = given.imaging_diagnoses[0], given.imaging_predict_rejects[0]
            rows += report.prediction_rows(diagnoses, rejects)
        pictures = [(given.imaging_confusion[0], "confusion matrix"), (given.imaging_roc[0], "ROC")]
        branches.append(("Medical images", rows, pictures))
    if given.sequences_summary:
        rows = report.sequences_rows(report.load_json(given.sequences_summary[0]))
        branches.append(("Sequences", rows, [(given.sequences_dendrogram[0], "dendrogram")]))
    if given.molecules_summary:
        rows = report.molecules_rows(given.molecules_summary[0], given.molecules_hits[0])
        branches.append(("Molecules", rows, [(given.molecules_top_hits[0], "top hits")]))
    sections = [report.section(title, rows, pictures) for title, rows, pictures in branches]
    provenance = report.provenance_rows(origin(ctx.config, REPO_ROOT))
    Path(ctx.output.page).parent.mkdir(parents=True, exist_ok=True)
    Path(ctx.output.page).write_text(report.front_page(sections, provenance))
    # the run's answers on the terminal too, as the run ends (this job is among its last)
    headline = [(title, rows) for title, rows, _ in branches]
    print(report.terminal_summary(headline, ctx.output.page), end="", file=console(), flush=True)


if __name__ == "__main__":
    STEP.run(main, globals().get("snakemake"))
