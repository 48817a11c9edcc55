# Helper functions shared by every branch. Rule files hold rules only; functions live here.
import functools
import os
import sys
from pathlib import Path

from snakemake.io import WILDCARD_REGEX
from snakemake.logging import logger

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from medflow.config import (
    ConfigError,
    fill_and_validate,
    get_path,
    read_config_file,
    unused_settings,
)
from medflow.resources import scaled_mem_mb, scaled_runtime
from medflow.step import InputError


def stops_at_start_up(check):
    """Decorate a check run while the workflow is read: its WorkflowError or InputError ends the
    run with medflow's message alone, which names the key, file or record and what to do.
    Snakemake would print it with the file and line of the raise and the call stack under it,
    which reads as a crash."""

    @functools.wraps(check)
    def checked(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except (WorkflowError, InputError) as error:
            logger.error(f"medflow: {error}")
            sys.exit(1)

    return checked


def checked_config(given):
    """The config filled from the schema's defaults; an error naming the key on a bad value."""
    try:
        return fill_and_validate(given)
    except ConfigError as error:
        raise WorkflowError(
            f"{error} (see workflow/schemas/ and the README's reference)"
        )


def refuse_duplicate_keys(paths):
    """Stop, naming the file, line and key, when a config file gives a key twice in one section:
    Snakemake's YAML reader keeps the last silently (medflow.config.UniqueKeyLoader)."""
    for path in paths:
        try:
            read_config_file(path)
        except ConfigError as error:
            raise WorkflowError(str(error))


@stops_at_start_up
def check_config():
    """The config files' duplicate keys, then the config against the schema (filled with its
    defaults), then the settings changed where they have no effect (warnings)."""
    refuse_duplicate_keys(workflow.configfiles)
    config.update(checked_config(config))
    for note in unused_settings(config):
        logger.warning(f"medflow: {note}")


check_config()


def is_activated(branch):
    """True when config switches the branch ('molecules', 'sequences', 'imaging') on."""
    return bool(config[branch]["enabled"])


def get_settings(*paths):
    """The config sections a step reads, as {dotted path: value}: the rule's `params: settings=`.

    The step script declares the same paths (`Step(settings=...)`) and reads only these, so a
    changed setting reruns exactly the jobs that use it, and a hand run reads the same keys.
    """
    return {path: get_path(config, path) for path in paths}


def end_run_quickly():
    """End a successful run at once, called on success when the scheduler has stopped.

    - Cancel the 1 s re-check timers of Snakemake's job-rate limiter: the scheduler starts a
      non-daemon threading.Timer (--max-jobs-per-timespan, 100/1s) after each round of jobs; once
      the last job is done nothing waits on it, yet Python's exit waits up to a second for it.
    - Freeze the garbage collector's objects (gc.freeze): Python's shutdown collections then skip
      the objects of everything Snakemake imported (pandas, SQLAlchemy and more), which took about
      0.3 s of each run's exit here. Steps do the same when their work is written
      (medflow.step.exit_quickly).
    """
    import gc
    import threading

    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()
    gc.freeze()


def require_input_file(key, path, made_by_workflow=(), folder=False):
    """Fail at start-up, naming the config key and the path, when an input file does not exist,
    or is a folder where a file is needed (a file where a folder is, with folder=True).

    Paths that a rule of this workflow makes (the embedded examples) are exempt.
    """
    if str(path) in {str(p) for p in made_by_workflow}:
        return
    refuse_wildcard_braces(f"config key '{key}'", path)
    if not Path(path).exists():
        raise WorkflowError(
            f"config key '{key}' names the input {'folder' if folder else 'file'} '{path}', "
            "which does not exist "
            f"(checked from {Path.cwd()}). Fix the path in your config file or remove the entry."
        )
    if Path(path).is_dir() != folder:
        wanted, found = ("a folder", "a file") if folder else ("a file", "a folder")
        raise WorkflowError(
            f"config key '{key}' names '{path}', which is {found}; it needs {wanted}."
        )


def refuse_wildcard_braces(where, path):
    """Fail at start-up, naming the config key and the path, when a path holds a brace pair
    such as {1} or {x}: Snakemake reads it as a wildcard in every rule's inputs (and would stop
    with "Wildcards in input files cannot be determined from output files")."""
    if WILDCARD_REGEX.search(str(path)):
        raise WorkflowError(
            f"{where} names '{path}', whose name holds "
            f"'{WILDCARD_REGEX.search(str(path)).group(0)}': Snakemake reads braces in a path "
            "as a wildcard. Rename the file or folder (for example with ( ) or _ instead of "
            "{ })."
        )


def get_front_page_inputs(wildcards):
    """The files the report's front page summarizes: each enabled branch's headline results."""
    inputs = {}
    if is_activated("imaging"):
        evaluation = "results/imaging/evaluation"
        inputs |= {
            "imaging_metrics": f"{evaluation}/metrics.json",
            "imaging_confusion": f"{evaluation}/confusion_matrix.png",
            "imaging_roc": f"{evaluation}/roc_curve.png",
        }
        if get_imaging_predict_images():
            inputs |= {
                "imaging_diagnoses": "results/imaging/predictions/diagnoses.tsv",
                "imaging_predict_rejects": "results/imaging/predictions/rejects.tsv",
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


@stops_at_start_up
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


def get_results_before_provenance():
    """Every final result but provenance and the front page: provenance runs after them all."""
    after = {"results/provenance.json", "results/report/front_page.html"}
    return [target for target in get_final_output() if target not in after]


@stops_at_start_up
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
    """The molecule files of molecules.inputs (checked by check_molecules_inputs when enabled)."""
    return list(config["molecules"]["inputs"])


def get_molecules_input_files():
    """Every input file of the branch, for provenance."""
    return get_molecules_inputs()


def check_molecules_inputs():
    """Every start-up check of the branch: input files exist and are listed once, descriptor
    names are RDKit's."""
    from medflow.step import check_listed_once

    settings = config["molecules"]
    for index, path in enumerate(settings["inputs"]):
        require_input_file(
            f"molecules.inputs[{index}]", path, made_by_workflow=[MOLECULES_EXAMPLE]
        )
    try:
        check_listed_once(settings["inputs"], "molecules.inputs")
    except InputError as error:
        raise WorkflowError(str(error))
    for name, limits in settings["filters"]["ranges"].items():
        if limits.get("min") is not None and limits.get("max") is not None:
            if limits["min"] > limits["max"]:
                raise WorkflowError(
                    f"config key 'molecules.filters.ranges.{name}': min {limits['min']} is above "
                    f"max {limits['max']}, so no molecule could pass; swap them"
                )
    # Without RDKit beside Snakemake (the conda route) mol_process checks the names instead.
    try:
        from medflow.molecules.descriptors import unknown_descriptor_messages
    except ImportError:
        return
    for key, names in (
        ("molecules.descriptors", settings["descriptors"]),
        ("molecules.filters.ranges", list(settings["filters"]["ranges"])),
    ):
        messages = unknown_descriptor_messages(names)
        if messages:
            raise WorkflowError(f"config key '{key}': " + "; ".join(messages))


def get_molecules_processed_chunks(wildcards):
    """The processed chunk tables, known once mol_split has written the chunks."""
    chunks = checkpoints.mol_split.get().output.chunks
    numbers = glob_wildcards(f"{chunks}/{{chunk}}.parquet").chunk
    return expand(
        "results/molecules/work/processed/{chunk}.parquet", chunk=sorted(numbers)
    )


def get_molecules_final_output():
    """The branch's final results (after every start-up check of the branch)."""
    check_molecules_inputs()
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


def get_sequences_fasta(wildcards=None):
    """The FASTA files to analyse: the configured ones, or the example (made by seq_simulate)."""
    return list(config["sequences"]["fasta"]) or [SEQUENCES_EXAMPLE["fasta"]]


def get_sequences_labels(wildcards=None):
    """The labels table as a list of zero or one path (the example's when the example runs)."""
    labels = config["sequences"]["labels"]
    if not labels and not config["sequences"]["fasta"]:
        labels = SEQUENCES_EXAMPLE["labels"]
    return [labels] if labels else []


def get_sequences_input_files():
    """Every input file of the branch, for provenance."""
    return get_sequences_fasta() + get_sequences_labels()


def check_sequences_inputs():
    """Every start-up check of the branch, before the first job: the alignment settings are
    usable (medflow.sequences.io.check_scoring_settings), input files exist, and the labels
    table has the columns id and group and names at least one FASTA record."""
    from medflow.sequences.io import (
        check_labels_match,
        check_scoring_settings,
        fasta_ids,
        read_labels,
    )
    from medflow.step import check_listed_once

    try:
        check_scoring_settings(config["sequences"])
    except InputError as error:
        raise WorkflowError(f"config key 'sequences.alignment': {error}")
    fasta = config["sequences"]["fasta"]
    for index, path in enumerate(fasta):
        require_input_file(f"sequences.fasta[{index}]", path)
    try:
        check_listed_once(fasta, "sequences.fasta")
        ids = [name for path in fasta for name in fasta_ids(path)]
    except InputError as error:
        raise WorkflowError(f"config key 'sequences.fasta': {error}")
    labels = config["sequences"]["labels"]
    if not labels:
        return
    require_input_file("sequences.labels", labels)
    try:
        table = read_labels(labels)
        if fasta:
            check_labels_match(table, labels, ids)
    except InputError as error:
        raise WorkflowError(f"config key 'sequences.labels': {error}")


def sequences_qc_summary():
    """QC's summary (unique count, alphabet, matrix), known once the seq_qc checkpoint has run."""
    import json

    with open(checkpoints.seq_qc.get().output.summary) as handle:
        return json.load(handle)


def get_sequences_score_blocks(wildcards):
    """The alignment blocks (upper triangle, row-major), known once QC has counted the sequences;
    none when the sequences fit one block: seq_gather then aligns them itself (one job fewer).
    """
    from medflow.sequences.blocks import block_pairs, block_path

    size = config["sequences"]["alignment"]["block_size"]
    pairs = block_pairs(sequences_qc_summary()["unique"], size)
    return [block_path(row, col) for row, col in pairs] if len(pairs) > 1 else []


@functools.cache
def warn_all_pairs(unique, why):
    """Say once that a large input aligns all pairs because the sparse path cannot serve it."""
    logger.warning(
        f"sequences: {unique} unique sequences are more than sequences.alignment.sparse_above, "
        f"but the sparse path cannot serve them ({why}): aligning all pairs "
        f"({unique ** 2 * 8 / 1e9:.1f} GB per N x N array)"
    )


def get_sequences_matrix_inputs(wildcards):
    """What clustering and plots read: the score matrix (they derive the distances), or on the
    sparse path (medflow.sequences.blocks.takes_sparse_path: more than
    sequences.alignment.sparse_above unique sequences) the scored candidate pairs per block.
    """
    from medflow.sequences.blocks import (
        pairs_path,
        row_blocks,
        takes_sparse_path,
        why_not_sparse,
    )

    qc = sequences_qc_summary()
    sequences = config["sequences"]
    if not takes_sparse_path(qc["unique"], qc["alphabet"], qc["matrix"], sequences):
        why = why_not_sparse(qc["alphabet"], qc["matrix"], sequences)
        if qc["unique"] > sequences["alignment"]["sparse_above"] and why:
            warn_all_pairs(qc["unique"], why)
        return {"scores": "results/sequences/alignment/scores.npy"}
    size = sequences["alignment"]["block_size"]
    return {"pairs": [pairs_path(row) for row in row_blocks(qc["unique"], size)]}


def get_sequences_final_output():
    """The branch's final results (checking the branch's inputs first)."""
    check_sequences_inputs()
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
IMAGING_SOURCE_KEY = {"folder": "folder", "dicom": "dicom_dir", "npz": "npz"}


def check_imaging_inputs():
    """Every start-up check of the imaging branch (called only when the branch is enabled)."""
    section = config["imaging"]["input"]
    fmt = section["format"]
    key = IMAGING_SOURCE_KEY[fmt]
    if not section[key]:
        raise WorkflowError(
            f"imaging.input.format is '{fmt}', so config key 'imaging.input.{key}' must name "
            "the input; it is empty."
        )
    require_input_file(
        f"imaging.input.{key}",
        section[key],
        made_by_workflow=[IMAGING_EXAMPLE["images"]],
        folder=fmt != "npz",
    )
    if fmt == "dicom":
        if not section["labels"]:
            raise WorkflowError(
                "imaging.input.format is 'dicom', so config key 'imaging.input.labels' must "
                "name the labels table (file -> class); it is empty."
            )
        require_input_file("imaging.input.labels", section["labels"])
    if fmt != "npz":
        image_files_under(section[key], f"imaging.input.{key}")
    check_positive_class(section)
    folder = config["imaging"]["predict"]["images"]
    if folder:
        require_input_file(
            "imaging.predict.images",
            folder,
            made_by_workflow=[IMAGING_EXAMPLE["new_images"]],
            folder=True,
        )
        image_files_under(folder, "imaging.predict.images")


def check_positive_class(section):
    """Stop at start-up when imaging.evaluate.positive_class names no class of the input (else
    evaluation would say so only after training), and warn when it or the threshold is set for
    more than two classes (the most probable class is chosen then); the input is read only when
    either key is set."""
    evaluate = config["imaging"]["evaluate"]
    positive, threshold = evaluate["positive_class"], evaluate["threshold"]
    if not positive and threshold == 0.5:
        return
    from medflow.imaging.datasets import classes_at_start

    try:
        classes = classes_at_start(section)
    except InputError as error:
        raise WorkflowError(str(error))
    if classes is not None and len(classes) > 2:
        for key, value in (("positive_class", positive), ("threshold", threshold)):
            if value not in ("", 0.5):
                logger.warning(
                    f"medflow: config key 'imaging.evaluate.{key}' is {value!r}, but it is "
                    f"used only with two classes and the input has {len(classes)}; each image "
                    "gets its most probable class and the metrics are macro means"
                )
    if positive and classes is not None and positive not in classes:
        raise WorkflowError(
            f"config key 'imaging.evaluate.positive_class' is '{positive}', which is not one of "
            f"the input's classes {classes}; name one of them, or leave it empty (the last class "
            "is positive)."
        )


def get_imaging_source(wildcards=None):
    """The labelled input of imaging.input.format (folder, DICOM folder or .npz); [] if unset."""
    section = config["imaging"]["input"]
    return section[IMAGING_SOURCE_KEY[section["format"]]] or []


def image_files_under(folder, key):
    """Every file under a user's image folder, hidden paths aside (as the steps skip them), so
    that adding, changing or removing an image reruns the step that reads the folder; [] for a
    folder a rule makes (the example's) or a path that is not a folder. A name with braces
    stops the run (refuse_wildcard_braces), naming the config key."""
    return list(files_under_folder(folder, key))


@functools.cache
def files_under_folder(folder, key):
    """image_files_under's walk, once per folder (start-up checks and rules both ask); it goes
    where the steps' medflow.imaging.io.list_files goes (linked folders too, each real folder
    once, hidden and __MACOSX folders skipped), and leaves out broken links, which the steps
    turn into rejects rows."""
    if not folder or folder in IMAGING_EXAMPLE.values() or not os.path.isdir(folder):
        return ()
    found, walked = [], set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        if os.path.realpath(root) in walked:
            dirs[:] = []
            continue
        walked.add(os.path.realpath(root))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        found += [
            os.path.join(root, f)
            for f in sorted(files)
            if not f.startswith(".") and os.path.exists(os.path.join(root, f))
        ]
    for path in found:
        refuse_wildcard_braces(f"the folder of config key '{key}'", path)
    return tuple(found)


def get_imaging_source_images(wildcards=None):
    """Every file under the labelled input folder (folder or DICOM format; [] for .npz)."""
    section = config["imaging"]["input"]
    if section["format"] == "npz":
        return []
    return image_files_under(
        get_imaging_source(), f"imaging.input.{IMAGING_SOURCE_KEY[section['format']]}"
    )


def get_imaging_predict_files(wildcards=None):
    """Every file under the folder of new images ([] when prediction is off)."""
    return image_files_under(
        config["imaging"]["predict"]["images"], "imaging.predict.images"
    )


def get_imaging_labels(wildcards=None):
    """The DICOM labels table as a list of zero or one path."""
    section = config["imaging"]["input"]
    if section["format"] != "dicom" or not section["labels"]:
        return []
    return [section["labels"]]


def get_imaging_predict_images(wildcards=None):
    """The folder of new images to diagnose, as a list of zero or one path."""
    folder = config["imaging"]["predict"]["images"]
    return [folder] if folder else []


def get_imaging_predict_folder(wildcards=None):
    """The folder of new images for the predict rule ([] when prediction is off)."""
    return config["imaging"]["predict"]["images"] or []


def get_imaging_input_files():
    """The branch's inputs (image folders, .npz, labels table), for provenance to checksum."""
    check_imaging_inputs()
    return [get_imaging_source(), *get_imaging_labels(), *get_imaging_predict_images()]


def get_imaging_final_output():
    """The branch's final results (checking its inputs first)."""
    check_imaging_inputs()
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
