# medflow: medical images, biological sequences and molecule libraries, from raw input to results.
# This file is the table of contents; each branch lives in workflow/rules/<branch>.smk.
from snakemake.utils import min_version

min_version("9.20")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


# common.smk checks the config against workflow/schemas/config.schema.yaml and fills its defaults.
include: "workflow/rules/common.smk"
include: "workflow/rules/molecules.smk"
include: "workflow/rules/sequences.smk"
include: "workflow/rules/imaging.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_output(),


onsuccess:
    end_run_quickly()
