# Provenance: one record of what produced the results (versions, commit, config, input checksums).


localrules:
    provenance,


rule provenance:
    input:
        get_input_files(),
    output:
        "results/provenance.json",
    log:
        "logs/provenance.log",
    benchmark:
        "benchmarks/provenance.tsv"
    conda:
        "../../envs/provenance.yaml"
    params:
        config=config,
        repo=workflow.basedir,
    script:
        "../../scripts/provenance.py"
