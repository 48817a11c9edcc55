# Helper functions shared by every branch. Rule files hold rules only; functions live here.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from medflow.config import ConfigError, fill_and_validate


def checked_config(given):
    """The config filled from the schema's defaults; an error naming the key on a bad value."""
    try:
        return fill_and_validate(given)
    except ConfigError as error:
        raise WorkflowError(
            f"{error} (see workflow/schemas/ and the README's reference)"
        )


config.update(checked_config(config))


def is_activated(branch):
    """True when config switches the branch ('molecules', 'sequences', 'imaging') on."""
    return bool(config[branch]["enabled"])


def get_settings(*paths):
    """The config sections a step reads, as {dotted path: value}: the rule's `params: settings=`.

    The step script declares the same paths (`Step(settings=...)`) and reads only these, so a
    changed setting reruns exactly the jobs that use it, and a hand run reads the same keys.
    """
    settings = {}
    for path in paths:
        value = config
        for part in path.split("."):
            value = value[part]
        settings[path] = value
    return settings


def require_input_file(key, path, made_by_workflow=()):
    """Fail at start-up, naming the config key and the path, when an input file does not exist.

    Paths that a rule of this workflow makes (the embedded examples) are exempt.
    """
    if str(path) in {str(p) for p in made_by_workflow}:
        return
    if not Path(path).exists():
        raise WorkflowError(
            f"config key '{key}' names the input file '{path}', which does not exist "
            f"(checked from {Path.cwd()}). Fix the path in your config file or remove the entry."
        )


def scaled_mem_mb(base_mb):
    """Memory that grows with the attempt, so `--retries` gives an out-of-memory job more."""

    def mem_mb(wildcards, attempt):
        return int(base_mb * attempt)

    return mem_mb


def scaled_runtime(base_minutes):
    """Wall-time limit (minutes) that grows with the attempt, for schedulers such as SLURM."""

    def runtime(wildcards, attempt):
        return int(base_minutes * attempt)

    return runtime


def get_front_page_inputs(wildcards):
    """The files the report's front page summarizes: provenance, then each enabled branch's."""
    inputs = {"provenance": "results/provenance.json"}
    if is_activated("imaging"):
        evaluation = "results/imaging/evaluation"
        inputs |= {
            "imaging_metrics": f"{evaluation}/metrics.json",
            "imaging_confusion": f"{evaluation}/confusion_matrix.png",
            "imaging_roc": f"{evaluation}/roc_curve.png",
        }
    if is_activated("sequences"):
        inputs |= {
            "sequences_summary": "results/sequences/summary.json",
            "sequences_dendrogram": "results/sequences/plots/dendrogram.png",
        }
    if is_activated("molecules"):
        inputs |= {
            "molecules_summary": "results/molecules/summary.tsv",
            "molecules_hits": "results/molecules/hits.csv",
            "molecules_top_hits": "results/molecules/plots/top_hits.png",
        }
    return inputs


def get_final_output():
    """Every final target of every enabled branch: what `rule all` asks for."""
    targets = ["results/provenance.json", "results/report/front_page.html"]
    if is_activated("molecules"):
        targets += get_molecules_final_output()
    if is_activated("sequences"):
        targets += get_sequences_final_output()
    if is_activated("imaging"):
        targets += get_imaging_final_output()
    return targets


def get_input_files():
    """Every input file of every enabled branch (user files or made examples), for provenance."""
    files = []
    if is_activated("molecules"):
        files += get_molecules_input_files()
    if is_activated("sequences"):
        files += get_sequences_input_files()
    if is_activated("imaging"):
        files += get_imaging_input_files()
    return sorted(set(files))


# --- molecules helpers (owned by workflow/rules/molecules.smk) ---
MOLECULES_EXAMPLE = "resources/molecules/first_5K.smi"


def get_molecules_inputs():
    """The molecule files of molecules.inputs, each checked to exist (the example is made)."""
    files = config["molecules"]["inputs"]
    if is_activated("molecules"):
        for index, path in enumerate(files):
            require_input_file(
                f"molecules.inputs[{index}]", path, made_by_workflow=[MOLECULES_EXAMPLE]
            )
    return files


def get_molecules_input_files():
    """Every input file of the branch, for provenance."""
    return list(get_molecules_inputs())


def check_molecules_descriptors():
    """Fail at start-up on an unknown descriptor name, listing the closest valid ones."""
    # Without RDKit beside Snakemake (the conda route) mol_process checks the names instead.
    try:
        from mol_descriptors import unknown_descriptor_messages
    except ImportError:
        return

    settings = config["molecules"]
    for key, names in (
        ("molecules.descriptors", settings["descriptors"]),
        ("molecules.filters.ranges", list(settings["filters"]["ranges"])),
    ):
        messages = unknown_descriptor_messages(names)
        if messages:
            raise WorkflowError(f"config key '{key}': " + "; ".join(messages))


def get_molecules_split_settings():
    """The config values that decide how input files are read and chunked."""
    keys = (
        "chunk_size",
        "smiles_column",
        "id_column",
        "sdf_id_property",
        "max_records",
    )
    return {key: config["molecules"][key] for key in keys}


def get_molecules_pipeline_settings():
    """The config values the per-molecule pipeline uses (standardize, descriptors, screen)."""
    settings = config["molecules"]
    return {
        "tautomer": settings["tautomer"],
        "descriptors": settings["descriptors"],
        "filters": settings["filters"],
    }


def get_molecules_optimize_settings():
    """The 3D optimization settings, seeded from the top-level seed."""
    return {**config["molecules"]["optimize"], "seed": config["seed"]}


def get_molecules_processed_chunks(wildcards):
    """The processed chunk tables, known once mol_split has written the chunks."""
    chunks = checkpoints.mol_split.get().output.chunks
    numbers = glob_wildcards(f"{chunks}/{{chunk}}.parquet").chunk
    return expand(
        "results/molecules/work/processed/{chunk}.parquet", chunk=sorted(numbers)
    )


def get_molecules_final_output():
    """The branch's final results (checking the descriptor names first)."""
    check_molecules_descriptors()
    tables = ["standardized.csv", "descriptors.parquet", "descriptors.csv", "hits.csv"]
    tables += ["rejects.csv", "summary.tsv", "hits_3d.sdf", "hits_3d.csv"]
    plots = ["descriptor_distributions.png", "filter_funnel.png", "top_hits.png"]
    return [f"results/molecules/{name}" for name in tables] + [
        f"results/molecules/plots/{name}" for name in plots
    ]


# --- end molecules helpers ---


# --- sequences helpers (owned by workflow/rules/sequences.smk) ---
SEQUENCES_EXAMPLE = {
    "fasta": "resources/sequences/example.fasta",
    "labels": "resources/sequences/example_labels.tsv",
}


def get_sequences_fasta():
    """The FASTA files to analyse: the configured ones (checked to exist) or the example."""
    files = config["sequences"]["fasta"] or [SEQUENCES_EXAMPLE["fasta"]]
    for index, path in enumerate(files):
        require_input_file(
            f"sequences.fasta[{index}]",
            path,
            made_by_workflow=[SEQUENCES_EXAMPLE["fasta"]],
        )
    return files


def get_sequences_labels():
    """The labels table as a list of zero or one path (the example's when the example runs)."""
    labels = config["sequences"]["labels"]
    if not labels and not config["sequences"]["fasta"]:
        labels = SEQUENCES_EXAMPLE["labels"]
    if labels:
        require_input_file(
            "sequences.labels", labels, made_by_workflow=[SEQUENCES_EXAMPLE["labels"]]
        )
    return [labels] if labels else []


def get_sequences_input_files():
    """Every input file of the branch, for provenance."""
    return get_sequences_fasta() + get_sequences_labels()


def get_sequences_score_blocks(wildcards):
    """The alignment blocks (upper triangle, row-major), known once QC has counted the sequences."""
    import json

    with open(checkpoints.seq_qc.get().output.summary) as handle:
        n = json.load(handle)["unique"]
    size = config["sequences"]["alignment"]["block_size"]
    count = -(-n // size)
    return [
        f"results/sequences/alignment/blocks/{row}_{col}.npy"
        for row in range(count)
        for col in range(row, count)
    ]


def get_sequences_final_output():
    """The branch's final results."""
    plots = [
        f"results/sequences/plots/{name}.{ext}"
        for name in ("dendrogram", "heatmap", "lengths")
        for ext in ("png", "svg")
    ]
    tables = [
        "assignments.tsv",
        "clusters.tsv",
        "tree.nwk",
        "summary.json",
        "properties.tsv",
    ]
    return plots + [f"results/sequences/{name}" for name in tables]


# --- end sequences helpers ---


# --- imaging helpers (owned by workflow/rules/imaging.smk) ---
IMAGING_EXAMPLE = {
    "images": "resources/imaging/example/images",
    "new_images": "resources/imaging/example/new_images",
    "new_truth": "resources/imaging/example/new_images_truth.tsv",
}


def get_imaging_source():
    """The labelled input of imaging.input.format (folder, DICOM folder or .npz), checked to exist."""
    section = config["imaging"]["input"]
    fmt = section["format"]
    key = {"folder": "folder", "dicom": "dicom_dir", "npz": "npz"}[fmt]
    path = section[key]
    if not path:
        raise WorkflowError(
            f"imaging.input.format is '{fmt}', so config key 'imaging.input.{key}' must name "
            "the input; it is empty."
        )
    if is_activated("imaging"):
        require_input_file(
            f"imaging.input.{key}", path, made_by_workflow=[IMAGING_EXAMPLE["images"]]
        )
    return path


def get_imaging_labels():
    """The DICOM labels table as a list of zero or one path (checked to exist)."""
    section = config["imaging"]["input"]
    if section["format"] != "dicom":
        return []
    if not section["labels"]:
        raise WorkflowError(
            "imaging.input.format is 'dicom', so config key 'imaging.input.labels' must name "
            "the labels table (file -> class); it is empty."
        )
    if is_activated("imaging"):
        require_input_file("imaging.input.labels", section["labels"])
    return [section["labels"]]


def get_imaging_predict_images():
    """The folder of new images to diagnose, as a list of zero or one path (checked to exist)."""
    folder = config["imaging"]["predict"]["images"]
    if folder and is_activated("imaging"):
        require_input_file(
            "imaging.predict.images",
            folder,
            made_by_workflow=[IMAGING_EXAMPLE["new_images"]],
        )
    return [folder] if folder else []


def get_imaging_input_files():
    """The branch's inputs (image folders, .npz, labels table), for provenance to checksum."""
    return [get_imaging_source(), *get_imaging_labels(), *get_imaging_predict_images()]


def get_imaging_final_output():
    """The branch's final results: arrays and tables, model, evaluation and diagnoses."""
    targets = [
        "results/imaging/preprocessed/arrays.npz",
        "results/imaging/preprocessed/class_counts.tsv",
        "results/imaging/preprocessed/rejects.tsv",
        "results/imaging/model/model.keras",
        "results/imaging/model/history.png",
        "results/imaging/evaluation/metrics.json",
        "results/imaging/evaluation/confusion_matrix.png",
        "results/imaging/evaluation/roc_curve.png",
    ]
    if get_imaging_predict_images():
        targets.append("results/imaging/predictions/diagnoses.tsv")
    return targets

# --- end imaging helpers ---
