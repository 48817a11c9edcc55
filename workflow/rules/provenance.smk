# Provenance: one record of what produced the results (versions, commit, config, input checksums).


localrules:
    provenance,


rule provenance:
    input:
        files=get_input_files(),
        results=get_results_before_provenance(),
    output:
        record="results/provenance.json",
    log:
        "logs/provenance.log",
    benchmark:
        "benchmarks/provenance.tsv"
    conda:
        "../../envs/provenance.yaml"
    params:
        settings=get_settings("seed", "molecules", "sequences", "imaging"),
    script:
        "../../scripts/provenance.py"
