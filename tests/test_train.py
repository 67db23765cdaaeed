import hashlib
import subprocess
import sys

import numpy as np
import pytest

import course_utils  # noqa: F401  (before mxnet)
from course_utils import config, data, device, train
import mxnet as mx
from mxnet import gluon


def small_mlp():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(64, activation="relu"), gluon.nn.Dense(10))
    return net


@pytest.fixture(scope="module")
def mnist_iters():
    return data.loaders(data.load_mnist(True), data.load_mnist(False), 128)


def test_fit_learns_mnist_and_records_history(mnist_iters):
    config.set_seed(0)
    h = train.fit(small_mlp(), *mnist_iters, num_epochs=3, lr=0.5, ctx=mx.cpu())
    assert len(h) == 3 and h["epoch"] == [1, 2, 3]
    assert h.last("test_acc") > 0.85
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert all(r > 0 for r in h["images_per_sec"]) and h.total_seconds() > 0
    assert "3 epochs" in repr(h)
    with pytest.raises(KeyError, match="choose one of"):
        h["accuracy"]


def test_fit_overfits_32_images():
    ds = data.load_mnist(True)
    X, y = data.to_arrays(ds)
    tiny = data.ArrayLoader(X[:32], y[:32], batch_size=32, shuffle=True)
    config.set_seed(0)
    h = train.fit(small_mlp(), tiny, tiny, num_epochs=60, lr=0.5, ctx=mx.cpu())
    assert h.last("train_acc") == 1.0 and h.last("test_acc") == 1.0
    assert h.last("train_loss") < 0.05


def test_two_devices_give_the_same_update_as_one():
    """Data parallelism on two CPU devices: gradients summed across devices equal one device's."""
    X = mx.nd.random.uniform(shape=(64, 1, 28, 28))
    y = mx.nd.array(np.arange(64) % 10)
    loader = data.ArrayLoader(X, y, batch_size=64)
    results = []
    for ctx in ([mx.cpu(0)], device.cpu_devices(2)):
        config.set_seed(1)
        net = small_mlp()
        net.initialize(mx.init.Xavier(), ctx=ctx)
        train.fit(net, loader, num_epochs=2, lr=0.1, ctx=ctx)
        results.append([p.data(ctx[0]).asnumpy() for p in net.collect_params().values()])
        assert all(p.list_ctx() == ctx for p in net.collect_params().values())
    assert len(results[0]) == 4
    for one, two in zip(*results):
        np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-6)


def test_fit_on_two_cpu_devices_reaches_accuracy(mnist_iters):
    config.set_seed(0)
    h = train.fit(small_mlp(), *mnist_iters, num_epochs=3, lr=0.5, ctx=device.cpu_devices(2))
    assert h.last("test_acc") > 0.85


SEEDED_RUN = """
import hashlib, course_utils
from course_utils import config, data, train
import mxnet as mx
from mxnet import gluon
config.set_seed(7)
tr, te = data.loaders(data.load_mnist(False), data.load_mnist(False), 100)
net = gluon.nn.HybridSequential()
net.add(gluon.nn.Conv2D(4, 3, activation='relu'), gluon.nn.Dense(10))
train.fit(net, tr, None, num_epochs=2, lr=0.1, ctx=mx.cpu())
h = hashlib.sha256()
for name, p in sorted(net.collect_params().items()):
    h.update(p.data().asnumpy().tobytes())
print(h.hexdigest())
"""


def test_seed_reproduces_training_bit_for_bit_in_fresh_processes():
    digests = {subprocess.run([sys.executable, "-c", SEEDED_RUN], capture_output=True, text=True,
                              check=True).stdout.strip().splitlines()[-1] for _ in range(2)}
    assert len(digests) == 1 and len(digests.pop()) == 64


def test_soft_targets_and_batch_transform():
    X = mx.nd.random.uniform(shape=(32, 1, 28, 28))
    y = mx.nd.array(np.arange(32) % 10)
    loader = data.ArrayLoader(X, y, batch_size=32)
    seen = []

    def one_hot(X, y):
        seen.append(X.shape)
        return X, mx.nd.one_hot(y, 10)

    states = []
    for transform in (None, one_hot):
        config.set_seed(2)
        net = small_mlp()
        h = train.fit(net, loader, num_epochs=2, lr=0.1, ctx=mx.cpu(), batch_transform=transform)
        states.append(net[0].weight.data().asnumpy())
    assert seen == [(32, 1, 28, 28)] * 2
    np.testing.assert_allclose(states[0], states[1], rtol=1e-5, atol=1e-6)  # one-hot == indices
    assert h.last("test_acc") is None


def test_teacher_logits_reach_the_loss():
    X = mx.nd.random.uniform(shape=(16, 1, 28, 28))
    loader = data.ArrayLoader(X, mx.nd.zeros(16), batch_size=8)
    teacher = small_mlp()
    teacher.initialize(ctx=mx.cpu())
    calls = []

    def loss(out, target, teacher_out):
        calls.append(teacher_out.shape)
        return ((out - teacher_out) ** 2).mean(axis=1)

    train.fit(small_mlp(), loader, num_epochs=1, ctx=mx.cpu(), teacher=teacher, loss=loss)
    assert calls == [(8, 10), (8, 10)]


def test_evaluate_accuracy_counts_correct_predictions():
    X = mx.nd.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    loader = data.ArrayLoader(X, mx.nd.array([0, 1, 1, 1]), batch_size=3)
    for ctx in (mx.cpu(), device.cpu_devices(2)):
        net = gluon.nn.Dense(2, use_bias=False, in_units=2)
        net.initialize(mx.init.One(), ctx=ctx)
        net.weight.set_data(mx.nd.array([[1, 0], [0, 1]]))  # identity: predicts argmax of input
        assert train.evaluate_accuracy(net, loader, ctx) == 0.75


def test_quiet_fit_prints_nothing(capsys, mnist_iters, monkeypatch):
    monkeypatch.setenv("COURSE_QUIET", "1")
    X, y = data.to_arrays(data.load_mnist(False))
    loader = data.ArrayLoader(X[:64], y[:64], 32)
    train.fit(small_mlp(), loader, loader, num_epochs=1, ctx=mx.cpu())
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_bad_arguments_and_divergence():
    loader = data.ArrayLoader(mx.nd.random.uniform(shape=(8, 4)), mx.nd.zeros(8), 4)
    with pytest.raises(ValueError, match="num_epochs"):
        train.fit(small_mlp(), loader, num_epochs=0)
    with pytest.raises(FloatingPointError, match="learning rate"):
        X, y = mx.nd.random.normal(shape=(64, 4)) * 1e3, mx.nd.array(np.arange(64) % 10)
        train.fit(gluon.nn.Dense(10), data.ArrayLoader(X, y, 8), num_epochs=2, lr=1e38, ctx=mx.cpu())


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_schedule_keeps_its_base_rate_with_every_optimizer(optimizer, capsys):
    loader = data.ArrayLoader(mx.nd.random.uniform(shape=(8, 4)), mx.nd.zeros(8), 4)
    schedule = mx.lr_scheduler.FactorScheduler(step=100, factor=0.5, base_lr=0.05)
    net = gluon.nn.Dense(10)
    trainer_rates = []
    train.fit(net, loader, num_epochs=1, optimizer=optimizer, lr_scheduler=schedule, ctx=mx.cpu(),
              on_epoch=lambda h: trainer_rates.append(schedule.base_lr))
    assert trainer_rates == [0.05]
    assert "overwritten" not in capsys.readouterr().out


def test_fit_schedule_cosine_matches_lr_curve(monkeypatch):
    """fit(schedule='cosine') gives each update the rate tricks.lr_curve lists."""
    from course_utils import tricks
    rng = np.random.default_rng(0)
    X = mx.nd.array(rng.normal(size=(24, 4)).astype("float32"))
    y = mx.nd.array(rng.integers(0, 3, size=24).astype("float32"))
    batches = [(X[i:i + 8], y[i:i + 8]) for i in range(0, 24, 8)]
    rates = []
    real_step = gluon.Trainer.step

    def step(self, batch_size, ignore_stale_grad=False):
        real_step(self, batch_size, ignore_stale_grad)
        rates.append(self._optimizer._get_lr(0))

    monkeypatch.setattr(gluon.Trainer, "step", step)
    train.fit(gluon.nn.Dense(3), batches, num_epochs=2, lr=0.5, schedule="cosine",
              ctx=mx.cpu(), progress=False)
    # a Trainer asks its scheduler for iteration 1 on the first step (see tricks.lr_at)
    expected = [tricks.lr_at("cosine", i, 6, 0.5) for i in range(1, 7)]
    np.testing.assert_allclose(rates, expected, rtol=1e-6)


def test_fit_schedule_with_lr_scheduler_refused():
    from course_utils import tricks, train as train_mod
    import mxnet as mx
    from mxnet import gluon
    batches = [(mx.nd.ones((4, 2)), mx.nd.zeros(4))] * 3
    with pytest.raises(ValueError, match="not both"):
        train_mod.fit(gluon.nn.Dense(2), batches, num_epochs=2, schedule="cosine",
                      lr_scheduler=tricks.make_lr_scheduler("cosine", 0.1, 2, 3),
                      ctx=mx.cpu(), progress=False)


def test_history_report_has_the_summary_the_test_accuracies_and_the_epoch_time():
    h = train.History()
    assert h.report() == "History(no epochs)"
    for epoch, (acc, seconds) in enumerate([(0.5, 3.0), (0.75, 1.0), (0.8, 2.0)]):
        h.append(epoch=epoch, train_loss=1.0 / (epoch + 1), train_acc=acc, test_acc=acc - 0.1,
                 images_per_sec=100.0, seconds=seconds)
    lines = h.report().split("\n")
    assert lines == ["History(3 epochs: train_loss=0.333, train_acc=0.800, test_acc=0.700)",
                     "test accuracy by epoch: 0.400 0.650 0.700",
                     "2.0 s per epoch (wall clock)"]
    no_test = train.History()
    no_test.append(epoch=0, train_loss=0.5, train_acc=0.9, test_acc=None, images_per_sec=1.0,
                   seconds=4.0)
    assert no_test.report().split("\n") == [repr(no_test), "4.0 s per epoch (wall clock)"]
