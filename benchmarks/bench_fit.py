"""Is `course_utils.train.fit` as fast as a bare training loop? One run, side by side.

Same model (a hybridized LeNet), same data (the bundled MNIST training subset, batch 128), same
optimizer; the bare loop is the shortest correct Gluon loop (no metrics, no progress bar). Each
is timed over the same number of epochs after one warm-up epoch, alternating, and the
throughput ratio fit / bare is printed. Goal: at least 0.95.

Run: python benchmarks/bench_fit.py [--epochs 5] [--repeats 3]
"""
import argparse
import os
import time

os.environ.setdefault("COURSE_QUIET", "1")

import course_utils  # noqa: E402,F401  (before mxnet)
from course_utils import config, data, models, train  # noqa: E402
import mxnet as mx  # noqa: E402
from mxnet import autograd, gluon  # noqa: E402


def lenet():
    """The course's LeNet in its modern form (ReLU, max pooling), hybridized."""
    net = models.LeNet(activation="relu", pooling="max")
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    net.hybridize(static_alloc=True, static_shape=True)
    return net


def bare_loop(net, train_iter, epochs):
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05, "momentum": 0.9})
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    for _ in range(epochs):
        for X, y in train_iter:
            with autograd.record():
                l = loss(net(X), y)
            l.backward()
            trainer.step(X.shape[0])
    mx.nd.waitall()


def with_fit(net, train_iter, epochs):
    train.fit(net, train_iter, None, num_epochs=epochs, lr=0.05, optimizer="sgd",
              optimizer_params={"momentum": 0.9}, ctx=mx.cpu(), progress=False)
    mx.nd.waitall()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config.set_seed(0)
    train_iter, _ = data.loaders(data.load_mnist(True), data.load_mnist(False), 128)
    n = len(data.load_mnist(True)) * args.epochs
    nets = {"bare": lenet(), "fit": lenet()}
    runners = {"bare": bare_loop, "fit": with_fit}
    for name in runners:  # warm-up: graph building, memory pools
        runners[name](nets[name], train_iter, 1)
    best = {name: float("inf") for name in runners}
    for _ in range(args.repeats):
        for name in runners:
            start = time.perf_counter()
            runners[name](nets[name], train_iter, args.epochs)
            best[name] = min(best[name], time.perf_counter() - start)
    print(f"{config.THREADS} threads, {args.epochs} epochs of {n // args.epochs} MNIST images, "
          f"best of {args.repeats}")
    for name in runners:
        print(f"  {name:5s} {n / best[name]:8.0f} images/s")
    ratio = best["bare"] / best["fit"]
    print(f"fit / bare throughput ratio: {ratio:.3f} (goal >= 0.95: {'yes' if ratio >= 0.95 else 'no'})")


if __name__ == "__main__":
    main()
