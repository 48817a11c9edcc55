# The imaging branch: preprocess labelled images -> train a CNN -> evaluate on the test split ->
# diagnose new images. See README.md (Imaging branch) for every step, input and output.


rule img_make_example:
    output:
        images=directory("resources/imaging/example/images"),
        new_images=directory("resources/imaging/example/new_images"),
        new_truth="resources/imaging/example/new_images_truth.tsv",
    log:
        "logs/imaging/make_example.log",
    benchmark:
        "benchmarks/imaging/make_example.tsv"
    conda:
        "../../envs/imaging.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem_mb(500),
        runtime=scaled_runtime(10),
    params:
        settings=get_settings("seed", "imaging.example"),
    script:
        "../../scripts/img_make_example.py"


rule img_preprocess:
    input:
        source=get_imaging_source,
        labels=get_imaging_labels,
        # not read by the step (it reads source): listed so that adding, changing or removing
        # an image inside the folder's subfolders reruns it
        images=get_imaging_source_images,
    output:
        arrays="results/imaging/preprocessed/arrays.npz",
        manifest="results/imaging/preprocessed/manifest.tsv",
        counts=report(
            "results/imaging/preprocessed/class_counts.tsv",
            caption="../report/imaging/class_counts.rst",
            category="Imaging",
            labels={"step": "preprocess", "table": "class counts"},
        ),
        rejects=report(
            "results/imaging/preprocessed/rejects.tsv",
            caption="../report/imaging/rejects.rst",
            category="Imaging",
            labels={"step": "preprocess", "table": "rejects"},
        ),
    log:
        "logs/imaging/preprocess.log",
    benchmark:
        "benchmarks/imaging/preprocess.tsv"
    conda:
        "../../envs/imaging.yaml"
    threads: config["imaging"]["train"]["threads"]  # image files are decoded in parallel
    resources:
        mem_mb=scaled_mem_mb(2000),
        runtime=scaled_runtime(30),
    params:
        settings=get_settings("seed", "imaging.input", "imaging.preprocess"),
    script:
        "../../scripts/img_preprocess.py"


rule img_train:
    input:
        arrays="results/imaging/preprocessed/arrays.npz",
    output:
        model="results/imaging/model/model.keras",
        model_config="results/imaging/model/model_config.json",
        history="results/imaging/model/history.tsv",
        history_plot=report(
            "results/imaging/model/history.png",
            caption="../report/imaging/history.rst",
            category="Imaging",
            labels={"step": "train", "figure": "training curves"},
        ),
    log:
        "logs/imaging/train.log",
    benchmark:
        "benchmarks/imaging/train.tsv"
    conda:
        "../../envs/imaging.yaml"
    threads: config["imaging"]["train"]["threads"]
    resources:
        mem_mb=scaled_mem_mb(4000),
        runtime=scaled_runtime(60),
    params:
        settings=get_settings("seed", "imaging.train"),
    script:
        "../../scripts/img_train.py"


rule img_evaluate:
    input:
        arrays="results/imaging/preprocessed/arrays.npz",
        model="results/imaging/model/model.keras",
    output:
        metrics=report(
            "results/imaging/evaluation/metrics.json",
            caption="../report/imaging/metrics.rst",
            category="Imaging",
            labels={"step": "evaluate", "table": "metrics"},
        ),
        predictions="results/imaging/evaluation/test_predictions.tsv",
        confusion_plot=report(
            "results/imaging/evaluation/confusion_matrix.png",
            caption="../report/imaging/confusion_matrix.rst",
            category="Imaging",
            labels={"step": "evaluate", "figure": "confusion matrix"},
        ),
        roc_plot=report(
            "results/imaging/evaluation/roc_curve.png",
            caption="../report/imaging/roc_curve.rst",
            category="Imaging",
            labels={"step": "evaluate", "figure": "ROC curve"},
        ),
    log:
        "logs/imaging/evaluate.log",
    benchmark:
        "benchmarks/imaging/evaluate.tsv"
    conda:
        "../../envs/imaging.yaml"
    threads: config["imaging"]["train"]["threads"]
    resources:
        mem_mb=scaled_mem_mb(3000),
        runtime=scaled_runtime(15),
    params:
        settings=get_settings("seed", "imaging.evaluate"),
    script:
        "../../scripts/img_evaluate.py"


rule img_predict:
    input:
        model="results/imaging/model/model.keras",
        images=get_imaging_predict_folder,
        # not read by the step (it reads images): listed so that a new or changed image in any
        # subfolder reruns it
        image_files=get_imaging_predict_files,
    output:
        diagnoses=report(
            "results/imaging/predictions/diagnoses.tsv",
            caption="../report/imaging/diagnoses.rst",
            category="Imaging",
            labels={"step": "predict", "table": "diagnoses"},
        ),
        rejects="results/imaging/predictions/rejects.tsv",
    log:
        "logs/imaging/predict.log",
    benchmark:
        "benchmarks/imaging/predict.tsv"
    conda:
        "../../envs/imaging.yaml"
    threads: config["imaging"]["train"]["threads"]
    resources:
        mem_mb=scaled_mem_mb(3000),
        runtime=scaled_runtime(15),
    params:
        settings=get_settings("seed", "imaging.evaluate"),
    script:
        "../../scripts/img_predict.py"
