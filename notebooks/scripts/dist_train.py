"""Train a small CNN on Fashion-MNIST: alone, or as one of several workers (``dist_sync``).

Alone (one process, all the training data)::

    python notebooks/scripts/dist_train.py

Two workers, one server and a scheduler on this machine, each worker on its half of the data::

    python -m course_utils launch --workers 2 --servers 1 -- python notebooks/scripts/dist_train.py

Under ``launch`` each worker takes its share of the training set (:func:`course_utils.launch.shard`)
and trains with the ``dist_sync`` kvstore: at every step the server sums the gradients of all
workers and updates the parameters, which every worker then pulls, so all workers hold the same
parameters and each step equals one process's step on the global batch (``--batch-size``).
Every worker evaluates on the whole test set and, with ``--out DIR``, writes
``DIR/result-<rank>.json``.
"""
import argparse
import hashlib
import json
import os
import time

START = time.time()

import course_utils  # noqa: E402,F401  (before mxnet: threads and MXNET_HOME)
from course_utils import config, data, launch, train  # noqa: E402
import mxnet as mx  # noqa: E402
from mxnet.gluon import nn  # noqa: E402


def build_net():
    """A LeNet-style CNN for (N, 1, 28, 28) images -> (N, 10) logits."""
    net = nn.HybridSequential()
    net.add(nn.Conv2D(6, 5, activation="relu"), nn.MaxPool2D(2),
            nn.Conv2D(16, 5, activation="relu"), nn.MaxPool2D(2),
            nn.Dense(120, activation="relu"), nn.Dense(84, activation="relu"), nn.Dense(10))
    return net


def parameters_digest(net):
    """SHA-1 of all parameter values: equal digests mean bit-identical parameters."""
    h = hashlib.sha1()
    for name, p in sorted(net.collect_params().items()):
        h.update(p.data().asnumpy().tobytes())
    return h.hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128,
                        help="global batch: each of n workers takes batch-size / n per step")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.environ.get("DIST_TRAIN_OUT"),
                        help="folder for result-<rank>.json (default: $DIST_TRAIN_OUT, if set)")
    args = parser.parse_args(argv)

    rank, num_workers = launch.worker_info()
    if args.batch_size % num_workers:
        parser.error(f"--batch-size {args.batch_size} must be a multiple of the {num_workers} workers")
    local_batch = args.batch_size // num_workers
    config.set_seed(args.seed)

    X, y = data.to_arrays(data.load_fashion_mnist(train=True))
    part = launch.shard(len(y), rank, num_workers)
    X, y = X[part], y[part]
    # dist_sync: every worker must take the same number of steps, all of the same size
    steps = X.shape[0] // local_batch
    X, y = X[:steps * local_batch], y[:steps * local_batch]
    train_iter = data.ArrayLoader(X, y, local_batch, shuffle=True)
    test_iter = data.ArrayLoader(*data.to_arrays(data.load_fashion_mnist(train=False)), 256)

    net = build_net()
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    net.hybridize()
    kvstore = "dist_sync" if num_workers > 1 else "device"
    started, cpu_started = time.time(), time.process_time()
    history = train.fit(net, train_iter, test_iter, num_epochs=args.epochs, lr=args.lr,
                        optimizer="sgd", optimizer_params={"momentum": args.momentum},
                        ctx=mx.cpu(), kvstore=kvstore)
    result = {
        "rank": rank, "num_workers": num_workers, "train_images": int(X.shape[0]),
        "steps_per_epoch": steps, "local_batch": local_batch, "epochs": args.epochs,
        "test_acc": history.last("test_acc"), "train_loss": history["train_loss"],
        "train_seconds": history.total_seconds(), "startup_seconds": started - START,
        # CPU time of this process while training (all its threads), evaluation included
        "train_cpu_seconds": time.process_time() - cpu_started,
        "threads": config.THREADS, "parameters_sha1": parameters_digest(net),
    }
    print(f"rank {rank} of {num_workers}: {result['train_images']} training images, "
          f"{steps} steps of {local_batch} per epoch, test accuracy {result['test_acc']:.3f}, "
          f"{result['train_seconds']:.1f} s training ({result['startup_seconds']:.1f} s start-up)")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, f"result-{rank}.json"), "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
