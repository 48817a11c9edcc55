"""Imaging models and the training recipe: the exact seed_cnn stack, heads, one determinism check,
validation-only choices, stable saving, and the train step (which never reads the test split)."""

import io
import json
import zipfile

import img_train
import keras
import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from medflow.config import fill_and_validate
from medflow.imaging import decisions, models, training
from medflow.imaging.io import save_npz_stable

AUGMENT = {"flip": "horizontal", "rotation": 0.03, "translation": 0.1, "zoom": 0.1, "contrast": 0.0}
QUICK = {
    "members": 2,
    "folds": 0,
    "epochs": 3,
    "batch_size": 16,
    "width": 8,
    "learning_rate": 0.003,
}


def train_settings(**changes) -> dict:
    """imaging.train filled from the schema, with a quick recipe for tests."""
    settings = fill_and_validate({})["imaging"]["train"]
    return {**settings, **QUICK, **changes}


def toy_arrays(n_classes: int = 2, n: int = 96, size: int = 16, seed: int = 0) -> dict:
    """Images whose class is a bright square's position: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    arrays = {"class_names": np.array([f"c{k}" for k in range(n_classes)])}
    for split, count in [("train", n), ("val", n // 3), ("test", n // 3)]:
        labels = np.arange(count) % n_classes
        x = rng.normal(0.2, 0.05, (count, size, size, 1)).astype(np.float32)
        for i, label in enumerate(labels):
            row = 2 + 4 * label
            x[i, row : row + 3, 4:10, 0] += 0.6
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, labels
        arrays[f"files_{split}"] = np.array([f"{split}{i}" for i in range(count)])
    arrays["preprocess_settings"] = np.array(json.dumps({"height": size, "width": size}))
    return arrays


def test_seed_cnn_is_exactly_the_classic_stack():
    model = models.build_model("seed_cnn", (28, 28, 1), 2, 32, 0.3, AUGMENT, 1)
    models.compile_model(model, 2, 0.001)
    stack = [(type(layer).__name__, layer.get_config()) for layer in model.layers]
    assert [name for name, _ in stack] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    conv, pool, _, dense, out = (config for _, config in stack)
    assert conv["filters"] == 32 and tuple(conv["kernel_size"]) == (3, 3)
    assert conv["activation"] == "relu" and conv["padding"] == "valid"
    assert tuple(pool["pool_size"]) == (2, 2)
    assert dense["units"] == 128 and dense["activation"] == "relu"
    assert out["units"] == 1 and out["activation"] == "sigmoid"
    assert model.output_shape == (None, 1)
    assert model.count_params() == (3 * 3 * 32 + 32) + (13 * 13 * 32 * 128 + 128) + (128 + 1)
    assert isinstance(model.optimizer, keras.optimizers.AdamW)
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy)


@pytest.mark.parametrize("name", models.MODELS)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_every_model_builds_for_binary_and_multiclass(name, n_classes):
    model = models.build_model(name, (28, 28, 3), n_classes, 8, 0.2, AUGMENT, 1)
    assert model.output_shape == (None, 1 if n_classes == 2 else n_classes)
    if name != "seed_cnn":
        kinds = {type(layer).__name__ for layer in model.layers}
        assert {"BatchNormalization", "GlobalAveragePooling2D", "Dropout", "RandomFlip"} <= kinds
    if name == "resnet":
        assert any(type(layer).__name__ == "Add" for layer in model.layers)


def test_balanced_class_weights_and_epoch_budget():
    weights = training.class_weights(np.array([0, 0, 0, 1]), 2, "balanced")
    assert weights == pytest.approx({0: 4 / 6, 1: 2.0})
    assert training.class_weights(np.array([0, 1]), 2, "none") is None
    assert training.epochs_within_budget(1000, 40, 60000) == 40
    assert training.epochs_within_budget(5000, 40, 60000) == 12
    assert training.epochs_within_budget(100000, 40, 60000) == 1


def test_a_member_over_budget_trains_one_pass_over_budget_images_it_draws_by_seed():
    assert training.rows_within_budget(100, 100, 1) is None  # within budget: every image
    rows = training.rows_within_budget(100, 30, 1)
    assert rows.size == 30 and np.unique(rows).size == 30 and (np.diff(rows) > 0).all()
    assert rows.tolist() == training.rows_within_budget(100, 30, 1).tolist()
    assert rows.tolist() != training.rows_within_budget(100, 30, 2).tolist()
    arrays = toy_arrays(n=96)
    _, history, summary, _ = training.train_member(arrays, train_settings(budget=40), 42, 0)
    assert summary["train_images"] == 40 and summary["train_images_available"] == 96
    assert summary["epochs_run"] == 1 and history["epoch"].tolist() == [1]


def test_stratified_folds_cover_every_image_once_balanced_and_seeded():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 0, 1])
    fold = training.stratified_folds(labels, 3, 42)
    assert fold.shape == labels.shape and set(fold.tolist()) == {0, 1, 2}
    assert sorted(np.bincount(fold).tolist()) == [3, 4, 4]  # sizes differ by at most one
    for k in (0, 1, 2):
        per_fold = np.bincount(fold[labels == k], minlength=3)
        assert per_fold.max() - per_fold.min() <= 1  # every class spread evenly
    assert np.array_equal(fold, training.stratified_folds(labels, 3, 42))
    two = training.stratified_folds(np.array([0, 0, 0, 0, 1, 1]), 2, 0)
    assert np.bincount(two[:4]).tolist() == [2, 2] and np.bincount(two[4:]).tolist() == [1, 1]
    others = [training.stratified_folds(labels, 3, s) for s in range(1, 6)]
    assert any(not np.array_equal(fold, other) for other in others)


def test_member_splits_without_folds_train_on_train_and_judge_on_validation():
    splits = training.member_splits(np.array([0, 1, 0, 1]), np.array([1, 0]), 0, 3, 42)
    assert len(splits) == 3
    for train_rows, val_rows in splits:
        assert train_rows.tolist() == [0, 1, 2, 3] and val_rows.tolist() == [4, 5]


def test_cross_fitted_members_never_judge_an_image_they_trained_on():
    y_train, y_val = np.array([0, 1] * 6), np.array([0, 1, 1, 0])
    splits = training.member_splits(y_train, y_val, 4, 2, 42)
    assert len(splits) == 4  # one member per fold; `members` is unused
    judged = np.concatenate([val_rows for _, val_rows in splits])
    assert sorted(judged.tolist()) == list(range(16))  # every pooled image judged exactly once
    for train_rows, val_rows in splits:
        assert not set(train_rows) & set(val_rows)
        assert len(train_rows) + len(val_rows) == 16
    # each member predicts its own number: the out-of-fold row is the member judged on it
    predictions = [np.full((len(val_rows), 2), float(k)) for k, (_, val_rows) in enumerate(splits)]
    oof = training.out_of_fold(16, splits, predictions)
    for image in range(16):
        member = int(oof[image, 0])
        assert image in splits[member][1] and image not in splits[member][0]
    partial = training.out_of_fold(16, splits[:1], predictions[:1])
    assert np.isnan(partial).any(axis=1).sum() == 16 - len(splits[0][1])


def test_repeated_cross_fitting_deals_anew_and_averages_each_images_judges():
    y_train, y_val = np.array([0, 1] * 6), np.array([0, 1, 1, 0])
    once = training.member_splits(y_train, y_val, 4, 2, 42)
    twice = training.member_splits(y_train, y_val, 4, 2, 42, repeats=2)
    assert len(twice) == 8
    # the first dealing is the plain one (repeats 1 is unchanged); the second differs
    for (a, b), (c, d) in zip(once, twice[:4], strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, d)
    assert any(
        not np.array_equal(b, d) for (_, b), (_, d) in zip(twice[:4], twice[4:], strict=True)
    )
    for repeat in (twice[:4], twice[4:]):
        judged = np.concatenate([val_rows for _, val_rows in repeat])
        assert sorted(judged.tolist()) == list(range(16))
    # members 0-3 predict 1, members 4-7 predict 3: every image's out-of-fold row is the mean, 2
    predictions = [np.full((len(v), 2), 1.0 if k < 4 else 3.0) for k, (_, v) in enumerate(twice)]
    assert np.array_equal(training.out_of_fold(16, twice, predictions), np.full((16, 2), 2.0))


def test_folds_are_capped_at_the_smallest_class():
    assert training.usable_folds(np.array([0] * 10 + [1] * 3), 5) == 3
    assert training.usable_folds(np.array([0] * 10 + [1] * 3), 0) == 0
    assert training.usable_folds(np.array([0] * 10 + [1] * 10), 5) == 5
    with pytest.raises(training.FoldError, match="folds to 0"):
        training.usable_folds(np.array([0] * 10 + [1]), 5)


def test_cross_fitted_training_judges_on_out_of_fold_predictions():
    arrays = toy_arrays(n=48)
    model, history, summary = training.train(arrays, train_settings(folds=3, epochs=2), 5, 1)
    assert summary["folds"] == 3 and len(summary["members"]) == 3
    assert summary["train_images"] == 48 + 16
    assert summary["validation"] == "out of fold, 64 images"
    assert list(history["member"].unique()) == [0, 1, 2]
    assert model.output_shape == (None, 1)
    assert 0 < summary["threshold"] < 1 and summary["val_auc"] is not None


def test_training_says_where_it_stands_each_member_on_the_console_and_each_epoch_in_the_log(
    caplog,
):
    console = io.StringIO()
    settings = train_settings(folds=3, epochs=2, score_from=0.5)
    with caplog.at_level("INFO", logger="medflow.imaging.training"):
        training.train(toy_arrays(n=48), settings, 5, 1, console)
    lines = console.getvalue().splitlines()
    ends = [line for line in lines if " done in " in line]
    assert [line.split(" done in ")[0] for line in ends] == [
        f"imaging training: member {k} of 3" for k in (1, 2, 3)
    ]
    assert "left" in ends[0] and ends[-1].endswith("; all members trained")
    assert "(best held-out AUC " in ends[0]
    logged = caplog.text
    assert "member 2 of 3, epoch 1 of 2\n" in logged  # epoch 1 is not scored (score_from 0.5)
    assert "member 2 of 3, epoch 2 of 2, held-out AUC " in logged


def test_training_progress_reaches_the_console_at_most_every_interval():
    console = io.StringIO()
    progress = training.TrainingProgress(2, console, every=3600)
    progress.last -= 7200  # an hour and more since the last console line
    progress.start -= 100  # the first member took 100 s, so the second should take as long
    progress.epoch(0, 1, 5, None)
    progress.epoch(0, 2, 5, 0.75)  # within the hour: the log only
    progress.member_done(0, 65.0, float("-inf"))  # a member's end always shows
    assert console.getvalue().splitlines() == [
        "imaging training: member 1 of 2, epoch 1 of 5",
        "imaging training: member 1 of 2 done in 1 min (no held-out AUC); about 2 min left",
    ]


def test_platt_scaling_recovers_a_known_slope_and_intercept():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1.5, 40_000)
    labels = rng.random(z.size) < 1 / (1 + np.exp(-(2.0 * z - 1.0)))
    slope, intercept = training.platt_scaling(1 / (1 + np.exp(-z)), labels)
    assert slope == pytest.approx(2.0, abs=0.05) and intercept == pytest.approx(-1.0, abs=0.05)
    # a member no better than chance is flattened to its fold's base rate, never turned around
    noise = rng.random(400)
    slope, intercept = training.platt_scaling(noise, (1 - noise + rng.normal(0, 0.05, 400)) > 0.75)
    assert slope == 0.0
    # a fold the member separates perfectly gives finite values
    slope, intercept = training.platt_scaling(
        np.r_[np.full(20, 0.1), np.full(20, 0.9)], np.r_[np.zeros(20), np.ones(20)]
    )
    assert 0 < slope < 100 and abs(intercept) < 100


def test_platt_scaling_applied_to_scores_matches_the_rescaled_network():
    scores = np.array([[0.01], [0.3], [0.5], [0.97]], dtype=np.float32)
    z = np.log(scores / (1 - scores))
    expected = 1 / (1 + np.exp(-(0.8 * z + 0.2)))
    assert np.allclose(training.apply_platt(scores, 0.8, 0.2), expected, atol=1e-6)
    assert np.allclose(training.apply_platt(scores, 0.0, -1.0), 1 / (1 + np.e))


def test_platt_scaling_is_folded_into_the_output_layer():
    network = models.build_model("small_cnn", (16, 16, 1), 2, 4, 0.0, {}, seed=1)
    x = toy_arrays(n=12)["x_train"]
    before = network.predict(x, verbose=0)[:, 0].astype(np.float64)
    models.scale_output_logit(network, 1.7, -0.4)
    after = network.predict(x, verbose=0)[:, 0].astype(np.float64)
    z = np.log(before / (1 - before))
    assert np.allclose(after, 1 / (1 + np.exp(-(1.7 * z - 0.4))), atol=1e-5)


def test_cross_fitted_two_class_members_are_calibrated_on_their_own_folds():
    arrays = toy_arrays(n=48)
    settings = train_settings(folds=3, epochs=2)
    model, _, summary = training.train(arrays, settings, 5, 1)
    scalings = [member["platt_scaling"] for member in summary["members"]]
    assert len(scalings) == 3 and all(slope >= 0 for slope, _ in scalings)
    plain, _, off = training.train(arrays, {**settings, "calibrate": False}, 5, 1)
    assert all("platt_scaling" not in member for member in off["members"])
    # calibration rescales each member's output monotonically: its own ranking is unchanged
    x = arrays["x_test"]
    for k, (slope, _) in enumerate(scalings):
        ours = model.get_layer(f"member_{k}").predict(x, verbose=0)[:, 0]
        theirs = plain.get_layer(f"member_{k}").predict(x, verbose=0)[:, 0]
        if slope > 0:
            assert spearmanr(ours, theirs).statistic > 0.99


def test_members_are_scored_from_the_middle_of_their_epochs_and_the_last_always():
    assert list(training.scored_epochs(13, 0.5)) == [7, 8, 9, 10, 11, 12, 13]
    assert list(training.scored_epochs(8, 0.5)) == [5, 6, 7, 8]
    assert list(training.scored_epochs(5, 0.5)) == [3, 4, 5]
    assert list(training.scored_epochs(9, 2 / 3)) == [7, 8, 9]
    assert list(training.scored_epochs(4, 0.0)) == [1, 2, 3, 4]
    assert list(training.scored_epochs(4, 0.99)) == [4]
    assert list(training.scored_epochs(1, 0.5)) == [1]


class ScriptedModel:
    """Stands in for a network: its 'weights' are the epoch it reached, and each prediction
    returns the next scripted scores (so each scored epoch's AUC is known)."""

    def __init__(self, scores: list[np.ndarray]):
        self.scores, self.epoch, self.predicted_after = scores, 0, []

    def predict(self, x, batch_size, verbose):
        self.predicted_after.append(self.epoch)
        return self.scores[len(self.predicted_after) - 1]

    def get_weights(self):
        return [np.array(self.epoch)]


def test_best_epoch_is_chosen_among_the_scored_epochs_only():
    y_val = np.array([0, 0, 1, 1])
    perfect, wrong = np.array([[0.1], [0.2], [0.8], [0.9]]), np.array([[0.9], [0.8], [0.2], [0.1]])
    middling = np.array([[0.1], [0.8], [0.2], [0.9]])  # AUC 0.75
    model = ScriptedModel([middling, perfect, wrong])
    rows = []
    callback = training._best_weights_callback(
        x_val=np.zeros((4, 2, 2, 1)),
        y_val=y_val,
        n_classes=2,
        batch_size=256,
        history=rows,
        scored=training.scored_epochs(6, 0.5),
    )
    callback.set_model(model)
    for epoch in range(6):
        model.epoch = epoch + 1
        callback.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
    assert model.predicted_after == [4, 5, 6]  # epochs 1-3 are not scored
    assert callback.best_epoch == 5 and callback.best_score == 1.0
    assert callback.best_weights[0] == 5 and callback.best_scores is perfect
    history = pd.DataFrame(rows)
    assert history["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert history["val_auc"].isna().tolist() == [True, True, True, False, False, False]
    assert history["val_auc"].tolist()[3:] == [0.75, 1.0, 0.0]
    assert history["val_accuracy"].tolist()[3:] == [0.5, 1.0, 0.0]


def test_held_out_images_of_one_class_keep_the_last_epoch():
    # no AUC can judge the epochs: the first scored epoch was kept, with an AUC of -inf
    model = ScriptedModel([np.array([[0.1], [0.2]]), np.array([[0.3], [0.4]])])
    callback = training._best_weights_callback(
        x_val=np.zeros((2, 2, 2, 1)),
        y_val=np.array([0, 0]),
        n_classes=2,
        batch_size=256,
        history=[],
        scored=training.scored_epochs(2, 0.0),
    )
    callback.set_model(model)
    for epoch in range(2):
        model.epoch = epoch + 1
        callback.on_epoch_end(epoch, {"loss": 1.0})
    assert callback.best_epoch == 2 and callback.best_weights[0] == 2


def test_a_validation_split_of_one_class_keeps_threshold_one_half_and_warns(caplog):
    arrays = toy_arrays(n=48)
    arrays["x_val"], arrays["y_val"] = (
        arrays["x_val"][arrays["y_val"] == 0],
        arrays["y_val"][arrays["y_val"] == 0],
    )
    with caplog.at_level("WARNING"):
        _, _, summary = training.train(
            arrays, train_settings(members=1, epochs=2), seed=3, threads=1
        )
    assert summary["threshold"] == 0.5 and summary["val_auc"] is None
    assert summary["members"][0]["best_val_auc"] is None  # JSON null, not -Infinity
    assert "the validation split holds only class(es) ['c0'] of ['c0', 'c1']" in caplog.text


def test_out_of_fold_predictions_reuse_the_kept_epochs_scores_exactly():
    """Cross-fitted training scores only the later epochs, trains as if it scored them all, and
    keeps a scored one; the out-of-fold predictions it builds from the kept epoch's held-out scores
    equal fresh predictions."""
    arrays = toy_arrays(n=48)
    settings = train_settings(folds=3, epochs=4, score_from=0.5)
    model, history, summary = training.train(arrays, settings, 5, 1)
    assert history.loc[history["epoch"] <= 2, "val_auc"].isna().all()
    assert history.loc[history["epoch"] > 2, "val_auc"].notna().all()
    # scoring never changes the training itself: scoring every epoch gives the same losses
    _, every, _ = training.train(arrays, {**settings, "score_from": 0.0}, 5, 1)
    assert every["val_auc"].notna().all() and every["loss"].equals(history["loss"])
    for member in summary["members"]:
        assert member["scored_epochs"] == [3, 4] and member["best_epoch"] in (3, 4)
    y_pool = np.concatenate([arrays["y_train"], arrays["y_val"]])
    x_pool = np.concatenate([arrays["x_train"], arrays["x_val"]])
    splits = training.member_splits(arrays["y_train"], arrays["y_val"], 3, 1, 5)
    fresh = [
        models.class_probabilities(model.get_layer(f"member_{k}"), x_pool[rows], 256, tta=True)
        for k, (_, rows) in enumerate(splits)
    ]
    oof = training.out_of_fold(len(y_pool), splits, fresh)
    # the members are Platt-scaled (calibrate): their out-of-fold probabilities are computed from
    # the kept scores, as the rescaled output layer gives them, to float32 rounding
    assert summary["threshold"] == pytest.approx(
        decisions.best_threshold(y_pool == 1, oof[:, 1]), abs=1e-5
    )
    assert summary["val_auc"] == pytest.approx(decisions.medmnist_auc(y_pool, oof, 1), abs=1e-6)
    # without calibration they are the very predictions
    plain, _, unscaled = training.train(arrays, {**settings, "calibrate": False}, 5, 1)
    fresh = [
        models.class_probabilities(plain.get_layer(f"member_{k}"), x_pool[rows], 256, tta=True)
        for k, (_, rows) in enumerate(splits)
    ]
    oof = training.out_of_fold(len(y_pool), splits, fresh)
    assert unscaled["threshold"] == decisions.best_threshold(y_pool == 1, oof[:, 1])
    assert unscaled["val_auc"] == decisions.medmnist_auc(y_pool, oof, 1)


def test_ema_momentum_is_capped_for_short_runs():
    assert training.ema_momentum(0.99, 340) == 0.99  # RetinaMNIST: 20 epochs of 17 steps
    assert training.ema_momentum(0.99, 40) == pytest.approx(0.925)
    assert 0.925**40 < 0.05  # the untrained start weighs less than 5% at the end
    assert training.ema_momentum(0.0, 40) == 0.0


def test_mixup_blends_images_and_targets_by_known_weights():
    images = np.array([0.0, 1.0, 10.0], dtype=np.float32).reshape(3, 1, 1, 1)
    targets = np.eye(3, dtype=np.float32)
    mixed, blended = training.mixup(
        images, targets, np.array([1.0, 0.5, 0.25]), np.array([1, 2, 0])
    )
    assert mixed.ravel() == pytest.approx([0.0, 5.5, 2.5])
    assert blended == pytest.approx(np.array([[1, 0, 0], [0, 0.5, 0.5], [0.75, 0, 0.25]]))


def test_mixup_batches_cover_every_image_once_per_epoch_and_are_reproducible():
    draws = [training.mixup_batch_draws(10, 4, 0.4, 7, 0, b) for b in range(3)]
    assert sorted(np.concatenate([rows for rows, _, _ in draws]).tolist()) == list(range(10))
    assert [len(rows) for rows, _, _ in draws] == [4, 4, 2]
    for rows, weights, partner in draws:
        assert ((weights >= 0) & (weights <= 1)).all()
        assert sorted(partner.tolist()) == list(range(len(rows)))
    again = training.mixup_batch_draws(10, 4, 0.4, 7, 0, 1)
    assert all(np.array_equal(a, b) for a, b in zip(draws[1], again, strict=True))
    next_epoch = training.mixup_batch_draws(10, 4, 0.4, 7, 1, 0)
    assert not np.array_equal(draws[0][0], next_epoch[0])  # reshuffled every epoch
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    targets = models.encode_labels(np.arange(10) % 2, 2)
    class_weight = np.where(np.arange(10) % 2, 3.0, 1.0).astype(np.float32)
    batches = training.mixup_batches(images, targets, 4, 0.4, 7, class_weight)
    x, y, w = batches[1]
    rows, weights, partner = again
    assert x.ravel() == pytest.approx(weights * rows + (1 - weights) * rows[partner])
    assert y.ravel() == pytest.approx(weights * (rows % 2) + (1 - weights) * (rows[partner] % 2))
    assert w == pytest.approx(
        weights * class_weight[rows] + (1 - weights) * class_weight[rows][partner]
    )
    assert len(batches) == 3


def test_training_with_mixup_is_deterministic():
    arrays = toy_arrays(n=48)
    settings = train_settings(members=1, epochs=2, mixup=0.4, class_weights="balanced")
    first, history_one, _ = training.train(arrays, settings, 5, 1)
    second, history_two, _ = training.train(arrays, settings, 5, 1)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        assert np.array_equal(a, b)
    assert history_one.equals(history_two)


def test_ensemble_is_the_mean_of_its_members():
    members = [
        models.build_model("seed_cnn", (8, 8, 1), 3, 8, 0.0, {}, seed, model_name=f"m{seed}")
        for seed in (1, 2)
    ]
    x = np.random.default_rng(0).random((5, 8, 8, 1)).astype(np.float32)
    mean = (members[0].predict(x, verbose=0) + members[1].predict(x, verbose=0)) / 2
    assert np.allclose(models.ensemble(members).predict(x, verbose=0), mean, atol=1e-6)
    flipped = models.class_probabilities(members[0], x, 4, tta=True)
    both = (members[0].predict(x, verbose=0) + members[0].predict(x[:, :, ::-1], verbose=0)) / 2
    assert np.allclose(flipped, both, atol=1e-6)


def test_training_is_deterministic_learns_and_keeps_the_best_validation_epoch():
    """The one determinism check of the recipe (cross-fitted, as by default): two runs, identical
    fold split, weights and predictions."""
    arrays = toy_arrays()
    folds = fill_and_validate({})["imaging"]["train"]["folds"]
    settings = train_settings(ema=0.9, folds=folds)
    assert settings["folds"] == 3
    first, history_one, summary_one = training.train(arrays, settings, 11, 1)
    second, history_two, summary_two = training.train(arrays, settings, 11, 1)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        assert np.array_equal(a, b)
    x = arrays["x_val"]
    assert np.array_equal(first.predict(x, verbose=0), second.predict(x, verbose=0))
    assert history_one.equals(history_two)
    timeless = [
        {**s, "seconds": 0, "members": [{**m, "seconds": 0} for m in s["members"]]}
        for s in (summary_one, summary_two)
    ]
    assert timeless[0] == timeless[1]
    assert list(history_one["member"].unique()) == [0, 1, 2]
    assert summary_one["folds"] == 3 and 0.5 < summary_one["val_auc"] <= 1
    # each member learns its held-out fold (pooled out-of-fold AUC mixes members' scales)
    assert all(member["best_val_auc"] > 0.8 for member in summary_one["members"])
    for member in summary_one["members"]:
        rows = history_one[history_one["member"] == member["member"]]
        assert member["best_val_auc"] == pytest.approx(rows["val_auc"].max())
        assert member["best_epoch"] == int(rows.loc[rows["val_auc"].idxmax(), "epoch"])


def test_multiclass_training_gives_probabilities():
    arrays = toy_arrays(n_classes=3)
    model, history, summary = training.train(arrays, train_settings(members=1, epochs=2), 3, 1)
    probabilities = models.class_probabilities(model, arrays["x_test"], 64, tta=True)
    assert probabilities.shape == (len(arrays["x_test"]), 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert len(history) == 2 and summary["threshold"] == 0.5


def test_saved_model_is_byte_stable_loads_and_carries_its_config(tmp_path):
    model = models.build_model("small_cnn", (16, 16, 1), 2, 4, 0.1, AUGMENT, 3)
    config = {"class_names": ["a", "b"], "preprocess": {"height": 16}}
    models.save_model_stable(model, str(tmp_path / "one.keras"), config)
    models.save_model_stable(model, str(tmp_path / "two.keras"), config)
    assert (tmp_path / "one.keras").read_bytes() == (tmp_path / "two.keras").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.keras") as archive:
        assert "date_saved" not in archive.read("metadata.json").decode()
    assert models.read_medflow_config(str(tmp_path / "one.keras")) == config
    loaded = keras.models.load_model(tmp_path / "one.keras")
    x = np.random.default_rng(0).random((4, 16, 16, 1)).astype(np.float32)
    assert np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def unreadable_test_split(path, arrays: dict) -> None:
    """Save arrays whose test entries are not arrays at all: reading them would fail."""
    save_npz_stable(path, {k: v for k, v in arrays.items() if not k.endswith("_test")})
    with zipfile.ZipFile(path, "a") as archive:
        for key in ("x_test", "y_test", "files_test"):
            archive.writestr(
                f"{key}.npy", b"\x93NUMPY\x01\x00 not an array: the test split is for evaluate only"
            )


def test_train_step_never_reads_the_test_split_and_writes_its_outputs(tmp_path):
    arrays = toy_arrays()
    unreadable_test_split(tmp_path / "arrays.npz", arrays)
    with pytest.raises(ValueError):  # the test entries really are unreadable
        np.load(tmp_path / "arrays.npz")["x_test"]
    out = {
        "model": str(tmp_path / "model.keras"),
        "model_config": str(tmp_path / "config.json"),
        "history": str(tmp_path / "history.tsv"),
        "history_plot": str(tmp_path / "history.png"),
    }
    overrides = {f"imaging.train.{k}": v for k, v in {**QUICK, "model": "seed_cnn"}.items()}
    overrides["imaging.train.members"] = 1
    ctx = img_train.STEP.context({"arrays": str(tmp_path / "arrays.npz")}, out, overrides=overrides)
    img_train.main(ctx)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"] == "seed_cnn" and config["class_names"] == ["c0", "c1"]
    assert config["preprocess"] == {"height": 16, "width": 16}
    assert config["train"]["epochs"] == 3 and config["decision"]["tta"] is True
    assert 0 < config["decision"]["threshold"] < 1
    assert config == models.read_medflow_config(out["model"])
    history = (tmp_path / "history.tsv").read_text().splitlines()
    assert history[0].split("\t")[:2] == ["member", "epoch"] and len(history) == 4
    from PIL import Image

    with Image.open(tmp_path / "history.png") as image:
        assert image.format == "PNG" and image.size[0] > image.size[1] > 100


def test_shared_object_ids_are_renumbered_in_order():
    config = {
        "a": {"shared_object_id": 140001},
        "b": [{"shared_object_id": 99}],
        "c": {"shared_object_id": 140001},
    }
    assert models.renumber_shared_objects(config) == {
        "a": {"shared_object_id": 1},
        "b": [{"shared_object_id": 2}],
        "c": {"shared_object_id": 1},
    }


def test_a_diverging_run_stops_naming_the_settings_to_lower():
    # weight decay 1e6 made the outputs NaN, and scikit-learn's AUC raised "Input contains NaN"
    settings = train_settings(members=1, epochs=2, weight_decay=1e6)
    with pytest.raises(
        training.FoldError, match=r"training diverged: .* lower imaging.train.learning_rate"
    ):
        training.train(toy_arrays(n=48), settings, seed=3, threads=1)


def test_batch_norm_forgets_its_untrained_start_in_short_runs():
    assert training.batch_norm_momentum(13) == pytest.approx(0.01 ** (1 / 13))
    assert 0.9**44 < 0.01 and training.batch_norm_momentum(44) == 0.9
    assert training.batch_norm_momentum(5000) == 0.9
    network = models.build_model("resnet", (16, 16, 1), 2, 8, 0.1, AUGMENT, 1)
    training.set_batch_norm_momentum(network, 0.7)
    norms = [
        layer for layer in network._flatten_layers() if "BatchNormalization" in type(layer).__name__
    ]
    assert norms and all(layer.momentum == 0.7 for layer in norms)


def test_contrast_augmentation_keeps_negative_pixels():
    # z-scored images hold negative values; Keras's RandomContrast clips to 0..255 unless told
    (layer,) = models.augmentation({"contrast": 0.5}, seed=3)
    images = np.linspace(-2.0, 2.0, 2 * 4 * 4).reshape(2, 4, 4, 1).astype("float32")
    out = np.asarray(layer(images, training=True))
    means = images.mean(axis=(1, 2), keepdims=True)
    factors = (out - means) / (images - means)
    assert out.min() < -1.0
    assert np.allclose(factors, factors[:, :1, :1, :], atol=1e-4)  # one factor per image
    assert np.all((factors >= 0.5 - 1e-4) & (factors <= 1.5 + 1e-4))
