# The molecules branch: read -> chunks -> standardize, descriptors, screen (per chunk) -> gather
# -> 3D-optimize the top hits -> tables, funnel and top-hits plots; the descriptor plot runs beside
# the 3D step. See README.md.


localrules:
    mol_example,


wildcard_constraints:
    chunk=r"\d+",


rule mol_example:
    output:
        smiles="resources/molecules/first_5K.smi",
        checksum="resources/molecules/first_5K.smi.sha256",
    log:
        "logs/molecules/mol_example.log",
    benchmark:
        "benchmarks/molecules/mol_example.tsv"
    conda:
        "../../envs/molecules.yaml"
    script:
        "../../scripts/mol_example.py"


checkpoint mol_split:
    input:
        molecules=get_molecules_inputs(),
    output:
        chunks=directory("results/molecules/work/chunks"),
        rejects="results/molecules/work/input_rejects.csv",
    log:
        "logs/molecules/mol_split.log",
    benchmark:
        "benchmarks/molecules/mol_split.tsv"
    conda:
        "../../envs/molecules.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem_mb(2000),
        runtime=scaled_runtime(30),
    params:
        settings=get_settings(
            "molecules.chunk_size",
            "molecules.smiles_column",
            "molecules.id_column",
            "molecules.sdf_id_property",
            "molecules.max_records",
        ),
    script:
        "../../scripts/mol_split.py"


rule mol_process:
    input:
        chunk="results/molecules/work/chunks/{chunk}.parquet",
    output:
        table="results/molecules/work/processed/{chunk}.parquet",
    log:
        "logs/molecules/mol_process/{chunk}.log",
    benchmark:
        "benchmarks/molecules/mol_process/{chunk}.tsv"
    conda:
        "../../envs/molecules.yaml"
    threads: 8
    resources:
        mem_mb=scaled_mem_mb(2000),
        runtime=scaled_runtime(60),
    params:
        settings=get_settings(
            "molecules.tautomer",
            "molecules.metals",
            "molecules.descriptors",
            "molecules.filters",
            "molecules.early_exit",
        ),
    script:
        "../../scripts/mol_process.py"


rule mol_gather:
    input:
        chunks=get_molecules_processed_chunks,
        rejects="results/molecules/work/input_rejects.csv",
    output:
        standardized=report(
            "results/molecules/standardized.csv",
            caption="../report/molecules/standardized.rst",
            category="Molecules",
            labels={"table": "standardized molecules"},
        ),
        descriptors_parquet="results/molecules/descriptors.parquet",
        descriptors_csv=report(
            "results/molecules/descriptors.csv",
            caption="../report/molecules/descriptors.rst",
            category="Molecules",
            labels={"table": "descriptors"},
        ),
        screened="results/molecules/work/screened.parquet",
        record_rejects="results/molecules/work/record_rejects.csv",
        counts="results/molecules/work/counts.json",
    log:
        "logs/molecules/mol_gather.log",
    benchmark:
        "benchmarks/molecules/mol_gather.tsv"
    conda:
        "../../envs/molecules.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem_mb(4000),
        runtime=scaled_runtime(30),
    script:
        "../../scripts/mol_gather.py"


rule mol_optimize:
    input:
        screened="results/molecules/work/screened.parquet",
    output:
        sdf="results/molecules/hits_3d.sdf",
        table=report(
            "results/molecules/hits_3d.csv",
            caption="../report/molecules/hits_3d.rst",
            category="Molecules",
            labels={"table": "3D-optimized hits"},
        ),
    log:
        "logs/molecules/mol_optimize.log",
    benchmark:
        "benchmarks/molecules/mol_optimize.tsv"
    conda:
        "../../envs/molecules.yaml"
    # One thread locally, so that mol_plots runs beside it on two cores (10 hits take about a
    # second either way; the result does not depend on the threads); profiles/slurm gives it 8.
    threads: 1
    resources:
        mem_mb=scaled_mem_mb(2000),
        runtime=scaled_runtime(60),
    params:
        settings=get_settings("seed", "molecules.optimize"),
    script:
        "../../scripts/mol_optimize.py"


rule mol_report:
    input:
        screened="results/molecules/work/screened.parquet",
        record_rejects="results/molecules/work/record_rejects.csv",
        optimized="results/molecules/hits_3d.csv",
        counts="results/molecules/work/counts.json",
    output:
        hits=report(
            "results/molecules/hits.csv",
            caption="../report/molecules/hits.rst",
            category="Molecules",
            labels={"table": "ranked hits"},
        ),
        rejects=report(
            "results/molecules/rejects.csv",
            caption="../report/molecules/rejects.rst",
            category="Molecules",
            labels={"table": "rejects"},
        ),
        summary=report(
            "results/molecules/summary.tsv",
            caption="../report/molecules/summary.rst",
            category="Molecules",
            labels={"table": "summary"},
        ),
        funnel=report(
            "results/molecules/plots/filter_funnel.png",
            caption="../report/molecules/filter_funnel.rst",
            category="Molecules",
            labels={"plot": "filter funnel"},
        ),
        grid=report(
            "results/molecules/plots/top_hits.png",
            caption="../report/molecules/top_hits.rst",
            category="Molecules",
            labels={"plot": "top hits"},
        ),
    log:
        "logs/molecules/mol_report.log",
    benchmark:
        "benchmarks/molecules/mol_report.tsv"
    conda:
        "../../envs/molecules.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem_mb(4000),  # 1.9 GB for a million unique molecules
        runtime=scaled_runtime(15),
    params:
        settings=get_settings("molecules.filters", "molecules.grid_size"),
    script:
        "../../scripts/mol_report.py"


rule mol_plots:
    input:
        descriptors="results/molecules/descriptors.parquet",
    output:
        distributions=report(
            "results/molecules/plots/descriptor_distributions.png",
            caption="../report/molecules/descriptor_distributions.rst",
            category="Molecules",
            labels={"plot": "descriptor distributions"},
        ),
    log:
        "logs/molecules/mol_plots.log",
    benchmark:
        "benchmarks/molecules/mol_plots.tsv"
    conda:
        "../../envs/molecules.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem_mb(2000),
        runtime=scaled_runtime(15),
    params:
        settings=get_settings("molecules.filters"),
    script:
        "../../scripts/mol_plots.py"
