# The sequences branch: QC -> all-vs-all alignment (in blocks for large inputs) -> clustering and
# its plots, with properties beside them. Inputs that fit one block align in seq_gather itself, so a
# small run is four jobs in a row. See README.md (Sequences branch) for every step and output.


rule seq_simulate:
    output:
        fasta="resources/sequences/example.fasta",
        labels="resources/sequences/example_labels.tsv",
    log:
        "logs/sequences/simulate.log",
    benchmark:
        "benchmarks/sequences/simulate.tsv"
    conda:
        "../../envs/sequences.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem_mb(500),
        runtime=scaled_runtime(5),
    params:
        settings=get_settings("seed", "sequences.example"),
    script:
        "../../scripts/seq_simulate.py"


checkpoint seq_qc:
    input:
        fasta=get_sequences_fasta,
    output:
        unique="results/sequences/qc/unique.fasta",
        table=report(
            "results/sequences/qc/qc.tsv",
            caption="../report/sequences/qc.rst",
            category="Sequences",
            labels={"step": "QC", "table": "records"},
        ),
        rejects=report(
            "results/sequences/qc/rejects.tsv",
            caption="../report/sequences/rejects.rst",
            category="Sequences",
            labels={"step": "QC", "table": "rejects"},
        ),
        summary="results/sequences/qc/summary.json",
    log:
        "logs/sequences/qc.log",
    benchmark:
        "benchmarks/sequences/qc.tsv"
    conda:
        "../../envs/sequences.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem_mb(1000),
        runtime=scaled_runtime(10),
    params:
        settings=get_settings(
            "sequences.alphabet",
            "sequences.alignment.matrix",
            "sequences.alignment.mode",
            "sequences.qc",
        ),
    script:
        "../../scripts/seq_qc.py"


rule seq_align_block:
    input:
        fasta="results/sequences/qc/unique.fasta",
        qc_summary="results/sequences/qc/summary.json",
    output:
        block=temp("results/sequences/alignment/blocks/{row}_{col}.npy"),
    log:
        "logs/sequences/align/{row}_{col}.log",
    benchmark:
        "benchmarks/sequences/align/{row}_{col}.tsv"
    wildcard_constraints:
        row=r"\d+",
        col=r"\d+",
    conda:
        "../../envs/sequences.yaml"
    threads: 8  # Snakemake lowers it to --cores: the alignment uses every core it is given
    resources:
        mem_mb=scaled_mem_mb(1000),
        runtime=scaled_runtime(30),
    params:
        settings=get_settings("sequences.alignment"),
    script:
        "../../scripts/seq_align.py"


rule seq_align_pairs:
    input:
        fasta="results/sequences/qc/unique.fasta",
        qc_summary="results/sequences/qc/summary.json",
    output:
        pairs=temp("results/sequences/alignment/pairs/{row}.npz"),
    log:
        "logs/sequences/align_pairs/{row}.log",
    benchmark:
        "benchmarks/sequences/align_pairs/{row}.tsv"
    wildcard_constraints:
        row=r"\d+",
    conda:
        "../../envs/sequences.yaml"
    threads: 8  # Snakemake lowers it to --cores: the alignment uses every core it is given
    resources:
        mem_mb=scaled_mem_mb(2000),
        runtime=scaled_runtime(30),
    params:
        settings=get_settings("sequences.alignment", "sequences.clustering"),
    script:
        "../../scripts/seq_align_pairs.py"


rule seq_gather:
    input:
        blocks=get_sequences_score_blocks,
        fasta="results/sequences/qc/unique.fasta",
        qc_summary="results/sequences/qc/summary.json",
    output:
        scores="results/sequences/alignment/scores.npy",
    log:
        "logs/sequences/gather.log",
    benchmark:
        "benchmarks/sequences/gather.tsv"
    conda:
        "../../envs/sequences.yaml"
    threads: 8  # Snakemake lowers it to --cores: the alignment uses every core it is given
    resources:
        mem_mb=scaled_mem_mb(2000),
        runtime=scaled_runtime(30),
    params:
        settings=get_settings("sequences.alignment"),
    script:
        "../../scripts/seq_gather.py"


rule seq_cluster:
    input:
        unpack(get_sequences_matrix_inputs),
        fasta="results/sequences/qc/unique.fasta",
        qc_table="results/sequences/qc/qc.tsv",
        qc_summary="results/sequences/qc/summary.json",
        labels=get_sequences_labels,
    output:
        assignments=report(
            "results/sequences/assignments.tsv",
            caption="../report/sequences/assignments.rst",
            category="Sequences",
            labels={"step": "clustering", "table": "assignments"},
        ),
        clusters=report(
            "results/sequences/clusters.tsv",
            caption="../report/sequences/clusters.rst",
            category="Sequences",
            labels={"step": "clustering", "table": "clusters"},
        ),
        newick="results/sequences/tree.nwk",
        linkage="results/sequences/linkage.npy",
        summary=report(
            "results/sequences/summary.json",
            caption="../report/sequences/summary.rst",
            category="Sequences",
            labels={"step": "clustering", "table": "summary"},
        ),
        dendrogram_png=report(
            "results/sequences/plots/dendrogram.png",
            caption="../report/sequences/dendrogram.rst",
            category="Sequences",
            labels={"step": "plots", "figure": "dendrogram", "format": "PNG"},
        ),
        dendrogram_svg="results/sequences/plots/dendrogram.svg",
        heatmap_png=report(
            "results/sequences/plots/heatmap.png",
            caption="../report/sequences/heatmap.rst",
            category="Sequences",
            labels={"step": "plots", "figure": "heatmap", "format": "PNG"},
        ),
        heatmap_svg="results/sequences/plots/heatmap.svg",
    log:
        "logs/sequences/cluster.log",
    benchmark:
        "benchmarks/sequences/cluster.tsv"
    priority: 1  # the longest job after the alignment: start it first
    conda:
        "../../envs/sequences.yaml"
    # one thread beside seq_properties on two cores; its two figures are drawn in two forked
    # processes once the clusters are known, by when seq_properties has ended
    threads: 1
    resources:
        mem_mb=scaled_mem_mb(3000),
        runtime=scaled_runtime(10),
    params:
        settings=get_settings(
            "sequences.clustering",
            "sequences.alignment",
            "sequences.distance",
            "sequences.plots",
        ),
    script:
        "../../scripts/seq_cluster.py"


rule seq_properties:
    input:
        fasta="results/sequences/qc/unique.fasta",
        qc_table="results/sequences/qc/qc.tsv",
        qc_summary="results/sequences/qc/summary.json",
    output:
        properties=report(
            "results/sequences/properties.tsv",
            caption="../report/sequences/properties.rst",
            category="Sequences",
            labels={"step": "properties", "table": "properties"},
        ),
        lengths_png=report(
            "results/sequences/plots/lengths.png",
            caption="../report/sequences/lengths.rst",
            category="Sequences",
            labels={"step": "plots", "figure": "lengths", "format": "PNG"},
        ),
        lengths_svg="results/sequences/plots/lengths.svg",
    log:
        "logs/sequences/properties.log",
    benchmark:
        "benchmarks/sequences/properties.tsv"
    conda:
        "../../envs/sequences.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem_mb(1000),
        runtime=scaled_runtime(10),
    script:
        "../../scripts/seq_properties.py"
