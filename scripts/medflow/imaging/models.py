"""The imaging branch's Keras models, deterministic set-up, and byte-stable .keras saving.

Models by name: `seed_cnn` (the classic one-convolution baseline, exactly as specified),
`small_cnn` (the default: batch normalization, global pooling, dropout, augmentation) and
`resnet` (a deeper residual network). Two classes get one sigmoid output and binary
cross-entropy; more classes get a softmax and categorical cross-entropy. An ensemble is one Keras
model whose output is the mean of its members' outputs, so it saves and loads like any model.
"""

import io
import json
import os
import zipfile
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from medflow.imaging.io import FIXED_ZIP_TIME

MODELS = ("seed_cnn", "small_cnn", "resnet")
MEDFLOW_ENTRY = "medflow_config.json"


def configure_determinism(seed: int, threads: int) -> None:
    """Seed Python, NumPy and TensorFlow, force deterministic ops, and use `threads` threads."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialized in this process (tests, benchmarks): keep going
        pass
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def head(n_classes: int) -> layers.Dense:
    """The output layer: one sigmoid unit for two classes, a softmax otherwise."""
    if n_classes == 2:
        return layers.Dense(1, activation="sigmoid", name="output")
    return layers.Dense(n_classes, activation="softmax", name="output")


NO_CLIP = (-1e6, 1e6)  # pixel values of any preprocess.scaling lie well inside


def augmentation(settings: dict[str, Any], seed: int) -> list[layers.Layer]:
    """On-the-fly augmentation layers (active only while training), seeded."""
    steps: list[layers.Layer] = []
    if settings.get("flip", "none") != "none":
        steps.append(layers.RandomFlip(settings["flip"], seed=seed, name="aug_flip"))
    if settings.get("rotation", 0) > 0:
        steps.append(
            layers.RandomRotation(
                settings["rotation"], fill_mode="nearest", seed=seed + 1, name="aug_rotation"
            )
        )
    if settings.get("translation", 0) > 0:
        t = settings["translation"]
        steps.append(
            layers.RandomTranslation(
                t, t, fill_mode="nearest", seed=seed + 2, name="aug_translation"
            )
        )
    if settings.get("zoom", 0) > 0:
        steps.append(
            layers.RandomZoom(settings["zoom"], fill_mode="nearest", seed=seed + 3, name="aug_zoom")
        )
    if settings.get("contrast", 0) > 0:
        # Keras clips the result to value_range, 0..255 unless told: z-scored inputs (negative
        # values) would lose their dark half, so the range is wide enough never to clip
        steps.append(
            layers.RandomContrast(
                settings["contrast"], value_range=NO_CLIP, seed=seed + 4, name="aug_contrast"
            )
        )
    return steps


def seed_cnn(input_shape: tuple[int, ...], n_classes: int, name: str = "seed_cnn") -> keras.Model:
    """Conv2D(32, 3x3, relu) -> MaxPooling(2x2) -> Flatten -> Dense(128, relu) -> Dense(output)."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            head(n_classes),
        ],
        name=name,
    )


def augmented_input(input_shape: tuple[int, ...], aug: list[layers.Layer]) -> tuple[Any, Any]:
    """The model's input and that input after the on-the-fly augmentation layers."""
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for layer in aug:
        x = layer(x)
    return inputs, x


def conv_bn_relu(x: Any, filters: int, name: str) -> Any:
    """3x3 convolution, batch normalization, ReLU."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def small_cnn_features(x: Any, width: int) -> Any:
    """Three conv-BN-ReLU stages (width, 2x, 4x filters) with pooling between them."""
    for stage, filters in enumerate((width, 2 * width, 4 * width)):
        x = conv_bn_relu(x, filters, f"stage{stage}a")
        if stage > 0:
            x = conv_bn_relu(x, filters, f"stage{stage}b")
        if stage < 2:
            x = layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
    return x


def residual_block(x: Any, filters: int, stride: int, name: str) -> Any:
    """A ResNet basic block (two 3x3 convolutions) with a projection shortcut when needed."""
    shortcut = x
    y = layers.Conv2D(
        filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1"
    )(x)
    y = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn2")(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(
            shortcut
        )
        shortcut = layers.BatchNormalization(momentum=0.9, name=f"{name}_proj_bn")(shortcut)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([y, shortcut]))


def resnet_features(x: Any, width: int) -> Any:
    """A ResNet-style trunk: a stem, then three stages of two residual blocks."""
    x = conv_bn_relu(x, width, "stem")
    for stage, filters in enumerate((width, 2 * width, 4 * width)):
        x = residual_block(x, filters, 1 if stage == 0 else 2, f"res{stage}a")
        x = residual_block(x, filters, 1, f"res{stage}b")
    return x


FEATURES = {"small_cnn": small_cnn_features, "resnet": resnet_features}


def classifier(
    features: Callable[[Any, int], Any],
    input_shape: tuple[int, ...],
    n_classes: int,
    width: int,
    dropout: float,
    aug: list[layers.Layer],
    name: str,
) -> keras.Model:
    """Augmentation, a feature trunk, global average pooling, dropout and the output head."""
    inputs, x = augmented_input(input_shape, aug)
    x = features(x, width)
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(inputs, head(n_classes)(x), name=name)


def build_model(
    name: str,
    input_shape: tuple[int, ...],
    n_classes: int,
    width: int,
    dropout: float,
    augment: dict[str, Any],
    seed: int,
    model_name: str | None = None,
) -> keras.Model:
    """The network called `name`, for images of `input_shape` and `n_classes` classes."""
    if name == "seed_cnn":
        return seed_cnn(input_shape, n_classes, model_name or name)
    aug = augmentation(augment, seed)
    if name in FEATURES:
        return classifier(
            FEATURES[name], input_shape, n_classes, width, dropout, aug, model_name or name
        )
    raise ValueError(f"unknown model '{name}' (choose from {', '.join(MODELS)})")


def optimizer(
    learning_rate: float, weight_decay: float, steps: int, ema: float
) -> keras.optimizers.Optimizer:
    """AdamW with a cosine learning-rate decay over `steps` and, when ema > 0, weight averaging."""
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, steps))
    return keras.optimizers.AdamW(
        learning_rate=schedule,
        weight_decay=weight_decay,
        use_ema=ema > 0,
        ema_momentum=ema if ema > 0 else 0.99,
    )


def compile_model(
    model: keras.Model,
    n_classes: int,
    learning_rate: float,
    weight_decay: float = 0.0,
    steps: int = 1,
    ema: float = 0.0,
    label_smoothing: float = 0.0,
) -> None:
    """(Binary or categorical) cross-entropy with label smoothing, AdamW, accuracy as metric."""
    if n_classes == 2:
        loss = keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    model.compile(
        optimizer=optimizer(learning_rate, weight_decay, steps, ema),
        loss=loss,
        metrics=["accuracy"],
    )


def scale_output_logit(network: keras.Model, slope: float, intercept: float) -> None:
    """Make a two-class network output sigmoid(slope x z + intercept) where it output sigmoid(z):
    its sigmoid output layer's kernel and bias are rescaled (Platt scaling, folded into the
    weights, so the model saves and loads as before)."""
    layer = network.get_layer("output")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel * slope, bias * slope + intercept])


def ensemble(members: list[keras.Model]) -> keras.Model:
    """One model whose output is the mean of the members' outputs (a single member: itself)."""
    if len(members) == 1:
        return members[0]
    inputs = keras.Input(shape=members[0].input_shape[1:], name="image")
    outputs = layers.Average(name="ensemble_mean")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name="ensemble")


def encode_labels(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Integer labels as the model's targets: 0/1 column for two classes, one-hot otherwise."""
    labels = np.asarray(labels)
    if n_classes == 2:
        return labels.astype(np.float32).reshape(-1, 1)
    return keras.utils.to_categorical(labels, n_classes).astype(np.float32)


def as_class_probabilities(scores: np.ndarray) -> np.ndarray:
    """N x n_classes probabilities from the model's output (the sigmoid head gives one column)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape[1] == 1:
        return np.hstack([1.0 - scores, scores])
    return scores


def class_probabilities(
    model: keras.Model,
    images: np.ndarray,
    batch_size: int,
    tta: bool = False,
    scores: np.ndarray | None = None,
) -> np.ndarray:
    """Probability of every class per image (N x n_classes); with `tta`, the mean over the image
    and its horizontal mirror (test-time augmentation). `scores`: the model's raw output on
    `images` when already at hand (training's held-out scoring of the kept epoch), not predicted
    again."""
    if len(images) == 0:
        n_out = model.output_shape[-1]
        return np.zeros((0, 2 if n_out == 1 else n_out), dtype=np.float64)
    views = prediction_views(model, images, batch_size, tta, scores)
    return as_class_probabilities(np.mean(views, axis=0))


def prediction_views(
    model: keras.Model,
    images: np.ndarray,
    batch_size: int,
    tta: bool = False,
    scores: np.ndarray | None = None,
) -> list[np.ndarray]:
    """The model's raw outputs on the images and, with `tta`, on their horizontal mirrors (the
    views class_probabilities averages); `scores`: the first view when already at hand."""
    if scores is None:
        scores = model.predict(images, batch_size=batch_size, verbose=0)
    views = [scores]
    if tta:
        mirrored = np.ascontiguousarray(images[:, :, ::-1, :])
        views.append(model.predict(mirrored, batch_size=batch_size, verbose=0))
    return views


def renumber_shared_objects(config: Any, ids: dict[int, int] | None = None) -> Any:
    """Replace Keras's `shared_object_id` (a memory address) by 1, 2, ... in order of appearance."""
    ids = {} if ids is None else ids
    if isinstance(config, dict):
        return {
            key: ids.setdefault(value, len(ids) + 1)
            if key == "shared_object_id"
            else renumber_shared_objects(value, ids)
            for key, value in config.items()
        }
    if isinstance(config, list):
        return [renumber_shared_objects(value, ids) for value in config]
    return config


def save_model_stable(model: keras.Model, path: str, medflow_config: dict[str, Any]) -> None:
    """Save in .keras format, then rewrite the archive without timestamps, adding our config."""
    buffer = io.BytesIO()
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    entries["config.json"] = json.dumps(
        renumber_shared_objects(json.loads(entries["config.json"]))
    ).encode()
    metadata = json.loads(entries["metadata.json"])
    metadata.pop("date_saved", None)
    entries["metadata.json"] = json.dumps(metadata, sort_keys=True).encode()
    entries[MEDFLOW_ENTRY] = (json.dumps(medflow_config, indent=2, sort_keys=True) + "\n").encode()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name])
    with open(path, "wb") as handle:
        handle.write(buffer.getvalue())


def read_medflow_config(path: str) -> dict[str, Any]:
    """The medflow config stored inside a .keras file by save_model_stable; KeyError naming
    the file when it is not one (not a zip archive, or saved by something else)."""
    if not zipfile.is_zipfile(path):
        raise KeyError(f"{path} is not a Keras model file (a .keras zip archive) made by img_train")
    with zipfile.ZipFile(path) as archive:
        if MEDFLOW_ENTRY not in archive.namelist():
            raise KeyError(f"{path} was not saved by medflow (no {MEDFLOW_ENTRY} inside)")
        return json.loads(archive.read(MEDFLOW_ENTRY))


def model_probabilities(
    path: str, images: np.ndarray, batch_size: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """Class probabilities of a medflow model file, as its training decided: with its test-time
    augmentation, and (two classes) recentred so 0.5 is its validation-chosen threshold.

    Also returns the medflow config stored in the file.
    """
    from medflow.imaging.decisions import recentre

    stored = read_medflow_config(path)
    decision = stored.get("decision", {})
    network = keras.models.load_model(path)
    probabilities = class_probabilities(network, images, batch_size, decision.get("tta", False))
    return recentre(probabilities, 1, decision.get("threshold", 0.5)), stored
