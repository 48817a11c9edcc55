# The report's front page: every enabled branch's headline figures and pictures, then the run's
# seed, config hash and commit (computed as provenance computes them, so the page runs beside
# provenance). workflow/report/workflow.rst shows it first in `--report`.


localrules:
    report_front_page,


rule report_front_page:
    input:
        unpack(get_front_page_inputs),
    output:
        page=report(
            "results/report/front_page.html",
            caption="../report/front_page.rst",
            category="0. Summary",
            labels={"page": "front page"},
        ),
    log:
        "logs/report/front_page.log",
    benchmark:
        "benchmarks/report/front_page.tsv"
    conda:
        "../../envs/provenance.yaml"
    threads: 1
    params:
        settings=get_settings("seed", "molecules", "sequences", "imaging"),
    script:
        "../../scripts/report_front_page.py"
