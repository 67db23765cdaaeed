"""Train and evaluate any Gluon classifier: one loop, written once, used by every notebook.

Notebook 01 writes this loop out by hand; afterwards the notebooks call :func:`fit`. It
records a :class:`History`, shows a progress bar when a person is watching, prints nothing that
varies when ``COURSE_QUIET`` is set (tests, saved notebook outputs), and never plots: pass
``on_epoch=plot.LiveCurve()`` for a live chart.
"""
import time

import numpy as np

from course_utils import config
from course_utils._util import positive_int
import mxnet as mx
from mxnet import autograd, gluon


class History:
    """Per-epoch records of a training run.

    Each record is a dict with ``epoch``, ``train_loss``, ``train_acc``, ``test_acc`` (None when
    no test data), ``images_per_sec`` and ``seconds`` (training time of the epoch).
    ``history['test_acc']`` gives one metric over all epochs.
    """

    KEYS = ("epoch", "train_loss", "train_acc", "test_acc", "images_per_sec", "seconds")

    def __init__(self, records=None):
        self.records = list(records or [])

    def append(self, **record):
        self.records.append({k: record.get(k) for k in self.KEYS})

    def __getitem__(self, key):
        if key not in self.KEYS:
            raise KeyError(f"unknown metric {key!r}; choose one of {self.KEYS}")
        return [r[key] for r in self.records]

    def __len__(self):
        return len(self.records)

    def last(self, key="test_acc"):
        """The metric after the last epoch."""
        return self[key][-1]

    def total_seconds(self):
        return float(sum(self["seconds"]))

    def report(self):
        """What a training cell prints at its end: this summary, the test accuracy after each
        epoch, and the median wall-clock seconds of an epoch."""
        lines = [repr(self)]
        if self.records and self["test_acc"][0] is not None:
            lines.append("test accuracy by epoch: " + " ".join(f"{a:.3f}" for a in self["test_acc"]))
        if self.records:
            lines.append(f"{np.median(self['seconds']):.1f} s per epoch (wall clock)")
        return "\n".join(lines)

    def __repr__(self):
        if not self.records:
            return "History(no epochs)"
        r = self.records[-1]
        test = "" if r["test_acc"] is None else f", test_acc={r['test_acc']:.3f}"
        return (f"History({len(self)} epochs: train_loss={r['train_loss']:.3f}, "
                f"train_acc={r['train_acc']:.3f}{test})")


def _as_list(ctx):
    if ctx is None:
        from course_utils import device

        return [device.choose()]
    return list(ctx) if isinstance(ctx, (list, tuple)) else [ctx]


def _split(batch, ctxs):
    """One slice of the batch per device (fewer when the batch is smaller than the devices)."""
    ctxs = ctxs[:batch.shape[0]]
    if len(ctxs) == 1:
        return [batch.as_in_context(ctxs[0])]
    return gluon.utils.split_and_load(batch, ctxs, even_split=False)


def _ensure_initialized(net, ctxs, init):
    params = net.collect_params()
    initialized = all(p._data is not None or p._deferred_init for p in params.values())
    if not initialized:
        net.initialize(init or mx.init.Xavier(), ctx=ctxs)
    else:
        params.reset_ctx(ctxs)


def _sync_workers(trainer):
    """How many workers' gradients each step sums: ``num_workers`` for 'dist_sync', else 1.

    A 'dist_sync' kvstore given by name is created here (it connects to the scheduler) so that
    its number of workers is known before the first step.
    """
    # MXNet 1.9.1 (the last release) keeps the kvstore here, created at the first step
    if trainer._kv_initialized:
        kv = trainer._kvstore
    else:
        kv = trainer._kvstore_params["kvstore"]
        if isinstance(kv, str) and kv.startswith("dist"):
            kv = trainer._kvstore_params["kvstore"] = mx.kv.create(kv)
    if isinstance(kv, mx.kvstore.KVStore) and "dist" in kv.type and "async" not in kv.type:
        return kv.num_workers
    return 1


def evaluate_accuracy(net, data_iter, ctx=None):
    """Fraction of correctly classified items in ``data_iter`` (batches of ``(X, y)``).

    ``ctx`` is a device or a list of devices (each batch is split across them).
    """
    ctxs = _as_list(ctx)
    correct = [mx.nd.zeros(1, ctx=c) for c in ctxs]
    total = 0
    for X, y in data_iter:
        for i, (x_part, y_part) in enumerate(zip(_split(X, ctxs), _split(y, ctxs))):
            y_hat = net(x_part)
            correct[i] += (y_hat.argmax(axis=1) == y_part.astype("float32")).sum()
        total += X.shape[0]
    if total == 0:
        raise ValueError("data_iter yielded no batches; is the data set empty?")
    return float(sum(c.asscalar() for c in correct)) / total


def _progress_bar(total, enabled):
    if enabled is None:
        enabled = not config.quiet()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="batch", leave=False)


def _check_rate(lr):
    """``lr`` must be a positive finite number (a negative one climbs the loss)."""
    try:
        ok = float(lr) > 0 and np.isfinite(float(lr))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"lr must be a positive finite number, e.g. 0.1; got {lr!r}")


def _check_batch(X, y, epoch, batch):
    """Refuse a batch with NaN/inf inputs or labels that are not whole numbers >= 0.

    One pass over data that the loader already holds (a NaN anywhere makes the sum NaN); it
    costs well under a millisecond for a batch of 128 images.
    """
    x = X.asnumpy() if isinstance(X, mx.nd.NDArray) else np.asarray(X)
    bad = 0
    if not np.isfinite(x.sum()):  # rare: count (a sum of huge finite values overflows too)
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
    if bad:
        raise ValueError(
            f"epoch {epoch}, batch {batch}: the inputs X hold {bad} NaN or infinite value(s); "
            "a network cannot learn from them (ReLU hides NaN as 0 and the weights turn NaN). "
            "Find them with np.isnan(X).any(axis=...) and drop or replace those images.")
    labels = y.asnumpy() if isinstance(y, mx.nd.NDArray) else np.asarray(y)
    if labels.ndim != 1:
        return None  # soft targets (N, K) from the loader: checked by the loss
    if labels.size and (labels.min() < 0 or not np.array_equal(labels, np.round(labels))):
        raise ValueError(
            f"epoch {epoch}, batch {batch}: labels must be class indices 0, 1, ..., K-1; "
            f"found {labels[(labels < 0) | (labels != np.round(labels))][0]!r}. "
            "Map your classes to 0..K-1 (e.g. y - 1 for labels 1..K).")
    return labels.max() if labels.size else None


def _check_labels_fit(top_label, num_outputs, epoch, batch):
    if top_label is not None and top_label >= num_outputs:
        raise ValueError(
            f"epoch {epoch}, batch {batch}: found label {int(top_label)}, but the network has "
            f"{num_outputs} outputs, so labels must lie in 0..{num_outputs - 1}. Labels 1..K "
            "need y - 1; K classes need a last layer with K outputs.")


def _check_loss(loss_value, epoch, batch, trainer):
    if not np.isfinite(loss_value):
        raise FloatingPointError(
            f"the training loss became {loss_value} in epoch {epoch}, batch {batch}: the learning "
            f"rate ({trainer.learning_rate}) is probably too high; try one 10x smaller (the "
            "inputs were checked: all finite). Re-create the network before training again: "
            "its weights are no longer finite.")


def _make_schedule(schedule, lr, num_epochs, train_iter, warmup_epochs, lr_scheduler):
    """The scheduler that ``fit(..., schedule=...)`` asks for, over all of fit's iterations."""
    if lr_scheduler is not None:
        raise ValueError("give schedule= or lr_scheduler=, not both; schedule='cosine' builds "
                         "the scheduler from lr, num_epochs and len(train_iter) for you.")
    if schedule not in ("cosine", "step"):
        raise ValueError(f"schedule must be 'cosine', 'step' or None; got {schedule!r}")
    _check_rate(lr)
    from course_utils import tricks

    step_epochs = (num_epochs // 2, 3 * num_epochs // 4) if schedule == "step" else ()
    return tricks.make_lr_scheduler(schedule, lr, num_epochs, len(train_iter),
                                    warmup_epochs=warmup_epochs, step_epochs=step_epochs)


def fit(net, train_iter, test_iter=None, num_epochs=10, lr=0.1, optimizer="sgd",
        optimizer_params=None, ctx=None, loss=None, trainer=None, init=None,
        batch_transform=None, teacher=None, lr_scheduler=None, kvstore="device",
        progress=None, on_epoch=None, schedule=None, warmup_epochs=0):
    """Train a classifier for ``num_epochs`` and return its :class:`History`.

    Parameters
    ----------
    net : gluon.Block
        Maps a batch ``X (N, ...)`` to logits ``(N, K)``. Initialised (Xavier) if it is not yet.
    train_iter, test_iter : iterables of ``(X, y)`` batches, ``y (N,)`` class indices
        e.g. from :func:`course_utils.data.loaders`. ``test_iter`` may be None.
    num_epochs : int
    lr : float
        Learning rate (ignored when ``lr_scheduler`` or ``trainer`` is given).
    optimizer : str
        Any MXNet optimizer name: 'sgd', 'nag', 'adam', 'rmsprop', ...
    optimizer_params : dict, optional
        Extra optimizer settings, e.g. ``{'momentum': 0.9, 'wd': 1e-4}``.
    ctx : mx.Context or list of mx.Context, optional
        Device(s). With several, each batch is split across them (data parallelism) and the
        gradients are summed by the kvstore. Default: :func:`course_utils.device.choose`.
    loss : callable, optional
        ``loss(y_hat, target) -> (N,)``; default softmax cross-entropy, which takes class
        indices ``(N,)`` or soft targets ``(N, K)``. With a ``teacher`` it is called as
        ``loss(y_hat, target, teacher_logits)``.
    trainer : gluon.Trainer, optional
        Use this trainer instead of building one.
    batch_transform : callable, optional
        ``batch_transform(X, y) -> (X, target)`` applied to each training batch before the
        forward pass (e.g. mix-up; the target may be soft, ``(N, K)``). Accuracy is still counted
        against the original labels.
    teacher : gluon.Block, optional
        A trained network whose logits on the same batch are passed to ``loss`` (distillation).
    lr_scheduler : mx.lr_scheduler.LRScheduler, optional
        Changes the learning rate every iteration (e.g. from :mod:`course_utils.tricks`).
    kvstore : str or mx.kvstore.KVStore
        How gradients are aggregated: 'device' (default), 'local', or 'dist_sync' when the
        script runs under ``python -m course_utils launch``. With 'dist_sync' the servers sum
        the gradients of all workers, so each step is normalised by the global batch (local
        batch x workers): the update equals one process's on the whole batch. Every step must
        then use the same batch size (MXNet fixes the scale on the servers at the first step).
    progress : bool or None
        Show a progress bar; None shows one unless ``COURSE_QUIET`` is set.
    on_epoch : callable, optional
        Called as ``on_epoch(history)`` after each epoch (e.g. a live plot).
    schedule : {'cosine', 'step', None}
        Builds ``lr_scheduler`` with :func:`course_utils.tricks.make_lr_scheduler` from ``lr``
        over ``num_epochs x len(train_iter)`` iterations (give either this or ``lr_scheduler``).
    warmup_epochs : int
        Epochs of linear warm-up for ``schedule``.

    Returns
    -------
    History
    """
    positive_int(num_epochs, "num_epochs", example="num_epochs=5")
    if teacher is not None and loss is None:
        raise ValueError(
            "teacher= needs a loss that uses the teacher's logits, e.g. "
            "loss=tricks.make_distillation_loss(temperature, hard_weight); the default loss "
            "would take them as sample weights.")
    if schedule is not None:
        lr_scheduler = _make_schedule(schedule, lr, num_epochs, train_iter, warmup_epochs,
                                      lr_scheduler)
    if trainer is None and lr_scheduler is None:
        _check_rate((optimizer_params or {}).get("learning_rate", lr))
    ctxs = _as_list(ctx)
    _ensure_initialized(net, ctxs, init)
    if teacher is not None:
        teacher.collect_params().reset_ctx(ctxs)
    if trainer is None:
        trainer = _make_trainer(net, optimizer, optimizer_params, lr, lr_scheduler, kvstore)
    workers = _sync_workers(trainer)
    compute_losses = _loss_function(loss, teacher)

    history = History()
    try:
        batches_per_epoch = len(train_iter)
    except TypeError:
        batches_per_epoch = None
    bar = _progress_bar(batches_per_epoch and batches_per_epoch * num_epochs, progress)
    try:
        for epoch in range(1, num_epochs + 1):
            start = time.perf_counter()
            train_loss, train_acc, seen = _train_one_epoch(
                net, train_iter, trainer, ctxs, workers, compute_losses, teacher,
                batch_transform, epoch, bar)
            seconds = time.perf_counter() - start
            test_acc = evaluate_accuracy(net, test_iter, ctxs) if test_iter is not None else None
            history.append(epoch=epoch, train_loss=train_loss, train_acc=train_acc,
                           test_acc=test_acc, images_per_sec=seen / seconds, seconds=seconds)
            if bar is not None:
                bar.set_postfix(loss=f"{train_loss:.3f}", test_acc=test_acc)
            if on_epoch is not None:
                on_epoch(history)
    finally:
        if bar is not None:
            bar.close()
    return history


def _make_trainer(net, optimizer, optimizer_params, lr, lr_scheduler, kvstore):
    """The Trainer ``fit`` builds when none is given."""
    params = dict(optimizer_params or {})
    if lr_scheduler is not None:
        params["lr_scheduler"] = lr_scheduler
        # without this, Adam/RMSProp overwrite the schedule's base with their default 0.001
        # (MXNet prints a warning): the schedule's own start is the learning rate
        params["learning_rate"] = lr_scheduler.base_lr
    else:
        params.setdefault("learning_rate", lr)
    return gluon.Trainer(net.collect_params(), optimizer, params, kvstore=kvstore)


def _loss_function(loss, teacher):
    """``compute(outs, targets, teacher_outs) -> per-device losses`` for ``fit``'s arguments."""
    if teacher is not None:
        return lambda outs, ts, tls: [loss(o, t, tl) for o, t, tl in zip(outs, ts, tls)]
    if loss is not None:
        return lambda outs, ts, tls: [loss(o, t) for o, t in zip(outs, ts)]
    hard_ce = gluon.loss.SoftmaxCrossEntropyLoss()
    soft_ce = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False)
    # class indices (N,) or soft targets (N, K), e.g. from mix-up or label smoothing
    return lambda outs, ts, tls: [(soft_ce if t.ndim == 2 else hard_ce)(o, t)
                                  for o, t in zip(outs, ts)]


def _train_one_epoch(net, train_iter, trainer, ctxs, workers, compute_losses, teacher,
                     batch_transform, epoch, bar):
    """One pass over ``train_iter``; returns (mean training loss, training accuracy, images)."""
    loss_sum = [mx.nd.zeros(1, ctx=c) for c in ctxs]
    correct = [mx.nd.zeros(1, ctx=c) for c in ctxs]
    seen = 0
    pending = None  # the previous batch's loss: read while this batch computes
    for batch, (X, y) in enumerate(train_iter, 1):
        top_label = _check_batch(X, y, epoch, batch)
        target = y
        if batch_transform is not None:
            X, target = batch_transform(X, y)
        xs, ys, ts = _split(X, ctxs), _split(y, ctxs), _split(target, ctxs)
        teacher_out = [teacher(x) for x in xs] if teacher is not None else None
        with autograd.record():
            outs = [net(x) for x in xs]
            _check_labels_fit(top_label, outs[0].shape[-1], epoch, batch)
            losses = compute_losses(outs, ts, teacher_out)
        autograd.backward(losses)
        trainer.step(X.shape[0] * workers)
        parts = [l.sum() for l in losses]
        for i, (o, part, yy) in enumerate(zip(outs, parts, ys)):  # parts per device
            loss_sum[i] += part
            correct[i] += (o.argmax(axis=1) == yy.astype("float32")).sum()
        batch_loss = parts[0] if len(parts) == 1 else mx.nd.add_n(
            *[p.as_in_context(ctxs[0]) for p in parts])
        if pending is not None:
            _check_loss(pending[1].asscalar(), epoch, pending[0], trainer)
        pending = (batch, batch_loss)
        seen += X.shape[0]
        if bar is not None:
            bar.update(1)
    if seen == 0:
        raise ValueError(
            f"train_iter yielded no batches in epoch {epoch}: is the data set empty, or "
            "is it a generator that was used up (pass a DataLoader or a list instead)?")
    _check_loss(pending[1].asscalar(), epoch, pending[0], trainer)
    train_loss = float(sum(v.asscalar() for v in loss_sum)) / seen
    train_acc = float(sum(v.asscalar() for v in correct)) / seen
    return train_loss, train_acc, seen
