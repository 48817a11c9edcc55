"""The training recipe: a small ensemble of seeded networks, every choice made on validation.

Each member trains with AdamW (decoupled weight decay), a cosine learning-rate decay over its
epochs, label smoothing, on-the-fly augmentation and, optionally, mixup and an exponential moving
average (EMA) of its weights. After each epoch of the last part of its run (`score_from`, by default
the last quarter, where held-out AUC levels off) the member's validation AUC (MedMNIST's
definition) is measured, and the member keeps the weights of its best scored epoch. The members'
mean is the model.
For two classes, the decision threshold with the best validation accuracy is chosen and stored
with the model. With cross-fitting (`folds` K), train and validation are pooled into K stratified
folds, member k trains on the others and is judged on fold k, and the out-of-fold predictions
(every pooled image judged by the member that did not train on it) stand in for the validation
split in every choice. The test split is never seen here.
"""

from __future__ import annotations

import logging
import time
from typing import Any, TextIO

import numpy as np
import pandas as pd

from medflow.imaging import decisions
from medflow.step import duration_text

log = logging.getLogger("medflow.imaging.training")


class TrainingProgress:
    """Where training stands: a log line per epoch (its held-out AUC where scored) and per
    member; on `console` (the terminal of a Snakemake job, which its log file does not reach) a
    line at most every `every` seconds and one as each member ends, with the time left."""

    def __init__(self, members: int, console: TextIO | None = None, every: float = 10.0):
        self.members, self.console, self.every = members, console, every
        self.start = self.last = time.perf_counter()

    def say(self, line: str, always: bool = False) -> None:
        log.info("%s", line)
        now = time.perf_counter()
        if self.console is not None and (always or now - self.last >= self.every):
            self.last = now
            print(f"imaging training: {line}", file=self.console, flush=True)

    def epoch(self, member: int, epoch: int, epochs: int, auc: float | None) -> None:
        judged = "" if auc is None or np.isnan(auc) else f", held-out AUC {auc:.3f}"
        self.say(f"member {member + 1} of {self.members}, epoch {epoch} of {epochs}{judged}")

    def member_done(self, member: int, seconds: float, auc: float) -> None:
        elapsed = time.perf_counter() - self.start
        left = elapsed / (member + 1) * (self.members - member - 1)
        ahead = f"about {duration_text(left)} left" if left > 0 else "all members trained"
        judged = f"best held-out AUC {auc:.3f}" if np.isfinite(auc) else "no held-out AUC"
        self.say(
            f"member {member + 1} of {self.members} done in {duration_text(seconds)} "
            f"({judged}); {ahead}",
            always=True,
        )


class FoldError(ValueError):
    """Training the data or settings cannot serve: cross-fitting asked of data too small for
    it (a class with fewer than two images), or a run that diverged (non-finite outputs)."""


def class_weights(labels: np.ndarray, n_classes: int, mode: str) -> dict[int, float] | None:
    """'balanced' weights n / (k * count_c), so each class counts equally; None for 'none'."""
    if mode == "none":
        return None
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return {k: float(w) for k, w in enumerate(weights)}


def epochs_within_budget(n_train: int, epochs: int, budget: int) -> int:
    """Epochs per member: `epochs`, cut so that epochs x train images stays within `budget`
    (at least one epoch), so a large data set does not multiply the training time."""
    return max(1, min(epochs, budget // max(1, n_train)))


def rows_within_budget(n_train: int, budget: int, seed: int) -> np.ndarray | None:
    """The training images a member trains on when even one epoch of them exceeds `budget`:
    `budget` of them, drawn by the member's seed (in their given order); None (all of them)
    otherwise. A member then makes one pass over images it sees once each, so a very large set
    (TissueMNIST's 165,000) costs what a 30,000-image one does instead of several times that."""
    if n_train <= budget:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_train, budget, replace=False))


def batch_norm_momentum(steps: int, default: float = 0.9) -> float:
    """The batch-normalization momentum for a run of `steps`: the networks' 0.9, lowered so that
    the moving mean and variance keep at most 1% of their untrained start (0.9 ** 44 < 0.01, so
    runs of 44 steps or more keep 0.9). A member of a small set trains a few dozen steps: at 0.9
    over 13 steps a quarter of the start remained, and the network judged its held-out images
    with those stale statistics (fold AUC 0.15-0.67 at training accuracy 1.0)."""
    return min(default, 0.01 ** (1.0 / max(steps, 1)))


def set_batch_norm_momentum(network: Any, momentum: float) -> None:
    """Set every BatchNormalization layer's momentum (nested models included), before fit."""
    import keras

    for layer in network.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
        elif hasattr(layer, "layers"):
            set_batch_norm_momentum(layer, momentum)


def ema_momentum(ema: float, steps: int) -> float:
    """The EMA momentum for a run of `steps`: `ema`, capped so that its horizon 1 / (1 - momentum)
    is at most a third of the run; otherwise a short run's average would still hold much of the
    untrained initial weights (0.99 over 40 steps keeps 67% of them; the cap keeps < 5%)."""
    if ema <= 0:
        return 0.0
    return min(ema, 1.0 - 3.0 / max(steps, 4))


def stratified_folds(labels: np.ndarray, folds: int, seed: int, repeat: int = 0) -> np.ndarray:
    """Each image's fold (0 .. folds-1), stratified and seeded: every class's images, in a seeded
    random order, are dealt round the folds in turn, one class after another, so the folds differ by
    at most one image in size and in each class's count. Each `repeat` deals them anew."""
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng([seed, folds, repeat] if repeat else [seed, folds])
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(labels == k)) for k in np.unique(labels)]
        or [np.zeros(0, dtype=np.int64)]
    )
    fold = np.empty(len(labels), dtype=np.int64)
    fold[order] = np.arange(len(order)) % folds
    return fold


def member_seed(seed: int, member: int) -> int:
    return seed + 1000 * member


def mixup(
    images: np.ndarray, targets: np.ndarray, weights: np.ndarray, partner: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mixup (Zhang et al., 2018): each image and its target blended with those of its partner,
    `weights * own + (1 - weights) * partner's`, one weight per image."""
    w = np.asarray(weights, dtype=np.float32)
    w_images = w.reshape(-1, *([1] * (images.ndim - 1)))
    w_targets = w.reshape(-1, *([1] * (targets.ndim - 1)))
    mixed = w_images * images + (1 - w_images) * images[partner]
    return mixed, w_targets * targets + (1 - w_targets) * targets[partner]


def mixup_batch_draws(
    n: int, batch_size: int, alpha: float, seed: int, epoch: int, batch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The images of one batch, each image's mixup weight ~ Beta(alpha, alpha) and its partner
    (a permutation inside the batch), drawn from (seed, epoch, batch) alone, so a rerun, or any
    order of calls, gives the same batches."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    rows = order[batch * batch_size : (batch + 1) * batch_size]
    rng = np.random.default_rng([seed, epoch, batch])
    return rows, rng.beta(alpha, alpha, len(rows)), rng.permutation(len(rows))


def mixup_batches(
    images: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    alpha: float,
    seed: int,
    sample_weights: np.ndarray | None = None,
) -> Any:
    """A Keras PyDataset of mixup batches, reshuffled every epoch; with `sample_weights` (class
    weights per image), each mixed image carries the same blend of its two images' weights."""
    import keras

    n = len(images)

    class MixupBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0

        def __len__(self) -> int:
            return -(-n // batch_size)

        def __getitem__(self, index: int):
            rows, weights, partner = mixup_batch_draws(
                n, batch_size, alpha, seed, self.epoch, index
            )
            x, y = mixup(images[rows], targets[rows], weights, partner)
            if sample_weights is None:
                return x, y
            own = sample_weights[rows]
            return x, y, (weights * own + (1 - weights) * own[partner]).astype(np.float32)

        def on_epoch_end(self) -> None:
            self.epoch += 1

    return MixupBatches()


def scored_epochs(epochs: int, score_from: float) -> range:
    """The epochs (1-based) on which a member is scored on its held-out images: those after the
    first `score_from` share of the run, floor(score_from x epochs), and always the last one."""
    first = min(epochs, int(np.floor(score_from * epochs + 1e-9)) + 1)
    return range(first, epochs + 1)


def _best_weights_callback(x_val, y_val, n_classes, batch_size, history, scored, announce=None):
    import keras

    class BestOnValidation(keras.callbacks.Callback):
        """Validation AUC and accuracy (MedMNIST's definitions) after each epoch in `scored`
        (other epochs get a history row without them); keeps the best scored epoch's weights and
        its raw validation scores, which the out-of-fold predictions reuse."""

        def __init__(self):
            super().__init__()
            self.best_score, self.best_epoch = -np.inf, 0
            self.best_weights, self.best_scores = None, None

        def on_epoch_end(self, epoch, logs=None):
            from medflow.imaging.models import as_class_probabilities

            row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
            history.append(row)
            if epoch + 1 not in scored:
                row.update(val_auc=np.nan, val_accuracy=np.nan)
                if announce:
                    announce(epoch + 1, None)
                return
            scores = self.model.predict(x_val, batch_size=batch_size, verbose=0)
            if not np.isfinite(scores).all():
                raise FoldError(
                    f"training diverged: the network's outputs are not finite after epoch "
                    f"{epoch + 1}; lower imaging.train.learning_rate or imaging.train.weight_decay"
                )
            probabilities = as_class_probabilities(scores)
            auc = decisions.medmnist_auc(y_val, probabilities, n_classes - 1)
            accuracy = float((decisions.decide(probabilities, 1, 0.5) == y_val).mean())
            row.update(val_auc=np.nan if auc is None else auc, val_accuracy=accuracy)
            if announce:  # where training stands (TrainingProgress)
                announce(epoch + 1, auc)
            # held-out images of one class: no AUC can judge the epochs, so the last one is kept
            if auc is None or auc > self.best_score or self.best_weights is None:
                self.best_score = -np.inf if auc is None else auc
                self.best_epoch = epoch + 1
                self.best_weights, self.best_scores = self.model.get_weights(), scores

    return BestOnValidation()


def train_member(
    arrays: dict[str, np.ndarray],
    settings: dict[str, Any],
    seed: int,
    member: int,
    progress: TrainingProgress | None = None,
) -> tuple[Any, pd.DataFrame, dict[str, Any], np.ndarray]:
    """One seeded network, trained on the train split, with the weights of its best scored
    validation epoch; also its history, a summary and its raw scores on x_val at that epoch."""
    import keras

    from medflow.imaging import models

    n_classes = len(arrays["class_names"])
    s = member_seed(seed, member)
    available = len(arrays["x_train"])
    rows = rows_within_budget(available, settings["budget"], s)
    if rows is not None:
        y_all = np.asarray(arrays["y_train"])
        arrays = {**arrays, "x_train": arrays["x_train"][rows], "y_train": y_all[rows]}
        log.info(
            "member %d: one pass over %d of its %d training images (budget)",
            member,
            rows.size,
            available,
        )
    x_train, x_val = arrays["x_train"], arrays["x_val"]
    y_val = np.asarray(arrays["y_val"])
    keras.utils.set_random_seed(s)
    epochs = epochs_within_budget(len(x_train), settings["epochs"], settings["budget"])
    batch = settings["batch_size"]
    steps = epochs * -(-len(x_train) // batch)
    network = models.build_model(
        settings["model"],
        x_train.shape[1:],
        n_classes,
        settings["width"],
        settings["dropout"],
        settings["augment"],
        s,
        model_name=f"member_{member}",
    )
    set_batch_norm_momentum(network, batch_norm_momentum(steps))
    models.compile_model(
        network,
        n_classes,
        settings["learning_rate"],
        settings["weight_decay"],
        steps,
        ema_momentum(settings["ema"], steps),
        settings["label_smoothing"],
    )
    rows: list[dict] = []
    scored = scored_epochs(epochs, settings["score_from"])
    progress = progress or TrainingProgress(1)
    best = _best_weights_callback(
        x_val,
        y_val,
        n_classes,
        max(batch, 256),
        rows,
        scored,
        lambda epoch, auc: progress.epoch(member, epoch, epochs, auc),
    )
    callbacks = [best]
    if settings["ema"] > 0:
        callbacks.insert(0, keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    targets = models.encode_labels(arrays["y_train"], n_classes)
    weights = class_weights(arrays["y_train"], n_classes, settings["class_weights"])
    if settings["mixup"] > 0:
        per_image = None
        if weights is not None:
            per_image = np.array([weights[k] for k in arrays["y_train"]], dtype=np.float32)
        batches = mixup_batches(x_train, targets, batch, settings["mixup"], s, per_image)
        data = {"x": batches, "shuffle": False}  # the batches reshuffle themselves
    else:
        data = {"x": x_train, "y": targets, "batch_size": batch, "class_weight": weights}
        data["shuffle"] = True
    start = time.perf_counter()
    network.fit(**data, epochs=epochs, callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - start
    network.set_weights(best.best_weights)
    history = pd.DataFrame(rows)
    history.insert(0, "member", member)
    summary = {
        "member": member,
        "seed": s,
        "epochs_run": epochs,
        "train_images": len(x_train),
        "train_images_available": available,
        "scored_epochs": [scored.start, scored.stop - 1],
        "best_epoch": best.best_epoch,
        "best_val_auc": float(best.best_score) if np.isfinite(best.best_score) else None,
        "seconds": seconds,
    }
    progress.member_done(member, seconds, best.best_score)
    log.info(
        "member %d: %d epochs in %.1f s (%.0f images/s); best validation AUC %.4f at epoch %d",
        member,
        epochs,
        seconds,
        epochs * len(x_train) / seconds,
        best.best_score,
        best.best_epoch,
    )
    return network, history, summary, best.best_scores


def member_splits(
    y_train: np.ndarray, y_val: np.ndarray, folds: int, members: int, seed: int, repeats: int = 1
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each member's (training rows, validation rows), as indices into the pool: the train
    split's images, then the validation split's.

    `folds` 0: `members` members, each trained on the train split and judged on the validation
    split. `folds` K >= 2 (cross-fitting): train and validation are pooled and dealt into K
    stratified folds (`stratified_folds`); member k trains on the other folds and is judged on fold
    k, so every pooled image is judged once, by the one member that did not train on it; with
    `repeats` R the pool is dealt R times (stratified_folds's repeat), K members each, and every
    image is judged by R members.
    """
    n_train, n = len(y_train), len(y_train) + len(y_val)
    if folds == 0:
        return [(np.arange(n_train), np.arange(n_train, n))] * members
    pool = np.concatenate([y_train, y_val])
    splits = []
    for repeat in range(repeats):
        fold = stratified_folds(pool, folds, seed, repeat)
        splits += [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds)]
    return splits


def usable_folds(labels: np.ndarray, folds: int) -> int:
    """`folds`, capped at the smallest class's count so that every fold holds every class (each
    member's validation AUC needs them all); 0 stays 0 (no cross-fitting)."""
    if folds == 0:
        return 0
    if folds == 1:
        raise FoldError("imaging.train.folds is 1: set 0 (no cross-fitting) or at least 2")
    smallest = int(np.unique(np.asarray(labels), return_counts=True)[1].min())
    if smallest < 2:
        raise FoldError(
            f"cross-fitting needs at least 2 images of every class in train + validation; one "
            f"class has {smallest}: set imaging.train.folds to 0"
        )
    return min(folds, smallest)


def platt_scaling(probabilities: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of Platt's scaling, sigmoid(slope x z + intercept) of a member's logit z,
    fitted to its held-out labels by scikit-learn's logistic regression (its default L2 on the
    slope, which keeps a fold that the member separates perfectly finite). The slope is kept
    >= 0: a member no better than chance is flattened to its fold's base rate, not turned
    around."""
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(labels).astype(np.int64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    z = np.log(p / (1 - p)).reshape(-1, 1)
    fit = LogisticRegression().fit(z, labels)
    slope = float(fit.coef_[0, 0])
    if slope > 0:
        return slope, float(fit.intercept_[0])
    rate = np.clip(labels.mean(), 1e-7, 1 - 1e-7)
    return 0.0, float(np.log(rate / (1 - rate)))


def apply_platt(scores: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """sigmoid(slope x z + intercept) of sigmoid outputs sigmoid(z): what a member whose output
    layer models.scale_output_logit rescaled gives (to float32 rounding), without predicting
    again."""
    p = np.clip(np.asarray(scores, dtype=np.float64), 1e-7, 1 - 1e-7)
    return 1.0 / (1.0 + np.exp(-(slope * np.log(p / (1 - p)) + intercept)))


def out_of_fold(
    n: int, splits: list[tuple[np.ndarray, np.ndarray]], predictions: list[np.ndarray]
) -> np.ndarray:
    """Pool-sized probabilities: each image's row from the members judged on it (those that did
    not train on it; their mean where repeated cross-fitting judged it more than once); NaN where
    no member was judged on the image."""
    total = np.zeros((n, predictions[0].shape[1]))
    count = np.zeros(n)
    for (_, rows), probabilities in zip(splits, predictions, strict=True):
        total[rows] += probabilities
        count[rows] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count[:, None]


def train(
    arrays: dict[str, np.ndarray],
    settings: dict[str, Any],
    seed: int,
    threads: int,
    console: TextIO | None = None,
) -> tuple[Any, pd.DataFrame, dict[str, Any]]:
    """The ensemble, its history and the validation choices.

    `settings` is the imaging.train section; the arrays are the train and validation splits
    (the test split is not used, nor needed). With `folds` 0, `members` networks train on the
    train split and are judged on the validation split; with K folds, K cross-fitted members train
    on train + validation and every choice is made on their out-of-fold predictions. Progress
    goes to the log, and to `console` (if given) every 10 s and as each member ends.
    """
    from medflow.imaging import models

    models.configure_determinism(seed, threads)
    n_classes = len(arrays["class_names"])
    x_pool = np.concatenate([arrays["x_train"], arrays["x_val"]])
    y_pool = np.concatenate([arrays["y_train"], arrays["y_val"]]).astype(np.int64)
    folds = usable_folds(y_pool, settings["folds"])
    if folds != settings["folds"]:
        log.warning(
            "folds cut from %d to %d (the smallest class's count)", settings["folds"], folds
        )
    splits = member_splits(
        arrays["y_train"], arrays["y_val"], folds, settings["members"], seed, settings["repeats"]
    )
    judged_on = {int(k) for k in np.unique(arrays["y_val"])}
    if not folds and len(judged_on) < n_classes:
        log.warning(
            "the validation split holds only class(es) %s of %s: no AUC can judge the epochs "
            "there, so each member keeps its last epoch%s; set imaging.train.folds (cross-"
            "fitting judges on every class) or give the validation split every class",
            [str(arrays["class_names"][k]) for k in sorted(judged_on)],
            [str(name) for name in arrays["class_names"]],
            " and the decision threshold stays 0.5" if n_classes == 2 else "",
        )
    log.info(
        "training %d x %s on %s (%d classes)",
        len(splits),
        settings["model"],
        f"{len(y_pool)} images in {folds} cross-fitted folds"
        if folds
        else f"{len(arrays['x_train'])} images, validating on {len(arrays['x_val'])}",
        n_classes,
    )
    batch = max(settings["batch_size"], 256)
    members, histories, summaries, judged = [], [], [], []
    progress = TrainingProgress(len(splits), console)
    for member, (train_rows, val_rows) in enumerate(splits):
        part = {
            "class_names": arrays["class_names"],
            "x_train": x_pool[train_rows],
            "y_train": y_pool[train_rows],
            "x_val": x_pool[val_rows],
            "y_val": y_pool[val_rows],
        }
        network, history, summary, scores = train_member(part, settings, seed, member, progress)
        members.append(network)
        histories.append(history)
        summaries.append(summary)
        if folds:
            views = models.prediction_views(network, part["x_val"], batch, settings["tta"], scores)
            if n_classes == 2 and settings["calibrate"]:
                plain = models.as_class_probabilities(np.mean(views, axis=0))
                slope, intercept = platt_scaling(plain[:, 1], part["y_val"])
                models.scale_output_logit(network, slope, intercept)
                summary["platt_scaling"] = [slope, intercept]
                log.info("member %d: Platt scaling %.3f z + %.3f", member, slope, intercept)
                views = [apply_platt(view, slope, intercept) for view in views]
            judged.append(models.as_class_probabilities(np.mean(views, axis=0)))
    model = models.ensemble(members)
    if folds:
        val, y_val = out_of_fold(len(y_pool), splits, judged), y_pool
    else:
        val = models.class_probabilities(model, arrays["x_val"], batch, settings["tta"])
        y_val = np.asarray(arrays["y_val"])
    threshold = 0.5
    if n_classes == 2 and settings["choose_threshold"] and len(np.unique(y_val)) == 2:
        threshold = decisions.best_threshold(y_val == 1, val[:, 1])
    decided = decisions.decide(decisions.recentre(val, 1, threshold), 1, 0.5)
    val_auc = decisions.medmnist_auc(y_val, val, 1)
    summary = {
        "members": summaries,
        "folds": folds,
        "validation": f"out of fold, {len(y_val)} images" if folds else f"{len(y_val)} images",
        "threshold": threshold,
        "val_auc": val_auc,
        "val_accuracy": float((decided == y_val).mean()),
        "parameters": int(model.count_params()),
        "train_images": len(y_pool) if folds else len(arrays["x_train"]),
        "seconds": sum(m["seconds"] for m in summaries),
    }
    log.info(
        "ensemble of %d: %s AUC %.4f, accuracy %.4f (threshold %.3f)",
        len(members),
        "out-of-fold" if folds else "validation",
        val_auc if val_auc is not None else float("nan"),
        summary["val_accuracy"],
        threshold,
    )
    return model, pd.concat(histories, ignore_index=True), summary
