"""Train LeNet on Fashion-MNIST: alone, or as one of several workers (``dist_sync``), resumable.

Alone (one process, all the training data)::

    python notebooks/scripts/dist_train.py

Two workers, one server and a scheduler on this machine, each worker on its half of the data::

    python -m course_utils launch --workers 2 --servers 1 -- python notebooks/scripts/dist_train.py

On several machines, each role started by hand: see the README's multi-host section.

Each worker takes its share of every global batch (:class:`GlobalBatches`) and trains with the
``dist_sync`` kvstore: at every step the servers sum the gradients of all workers, every worker
pulls the sum and applies the same SGD update (``update_on_kvstore=False``: the momentum
lives on the workers, so worker 0 can save it), so all workers hold the same parameters and each
step equals one process's step on the global batch (``--batch-size``). Every worker evaluates on
the whole test set and, with ``--out DIR``, writes ``DIR/result-<rank>.json`` and its final
parameters, ``DIR/parameters-<rank>.npz`` (keyed by position, ``0000``, ``0001``, ...: Gluon
numbers layer names per process).

Under the watch (:mod:`course_utils.admin.watchdog`) a lost role stops every other one with a message
(exit status 75). With ``--checkpoint DIR`` worker 0 saves the parameters, the momentum and the
epoch after every epoch; started again with the same command, the run resumes after the last
saved epoch (worker 0 reads the file and gives it to the other workers through the watch, so
only worker 0's machine needs the folder) and ends with the parameters an uninterrupted run has.
"""
import argparse
import gc
import hashlib
import json
import os
import time

START = time.time()

import course_utils  # noqa: E402,F401  (before mxnet: threads and MXNET_HOME)
from course_utils import config, data, dist, models, train  # noqa: E402
from course_utils.admin import watchdog  # noqa: E402
import mxnet as mx  # noqa: E402
from mxnet import gluon  # noqa: E402
import numpy as np  # noqa: E402


class GlobalBatches:
    """This worker's part of every global batch: the same batches for any number of workers.

    Each epoch draws one permutation of all ``N`` training images from ``(seed, epoch)`` (every
    worker draws the same one), cuts it into global batches of ``batch_size`` (the remainder
    is dropped: with ``dist_sync`` every worker must take the same number of steps) and gives
    worker ``rank`` of ``n`` the items ``rank, rank + n, ...`` of each (``dist.shard``). One
    process (n = 1) thus sees the very batches that n workers see together, and a run resumed
    at epoch k sees the batches an uninterrupted run sees.
    """

    def __init__(self, X, y, batch_size, rank=0, num_workers=1, seed=0, first_epoch=1):
        self.X, self.y, self.batch_size = X, y, batch_size
        self.part = dist.shard(batch_size, rank, num_workers)
        self.seed, self.epoch = seed, first_epoch

    def __len__(self):
        return self.X.shape[0] // self.batch_size

    def __iter__(self):
        order = np.random.RandomState([self.seed, self.epoch]).permutation(self.X.shape[0])
        self.epoch += 1
        for i in range(len(self)):
            idx = mx.nd.array(order[i * self.batch_size:(i + 1) * self.batch_size][self.part],
                              dtype=np.int64)
            yield self.X.take(idx), self.y.take(idx)


def init_kvstore(trainer):
    """Give the servers every parameter's key now, then wait until all workers have.

    MXNet 1.9.1 (the last release) does this at the first step with a broadcast whose pull can
    reach a server before worker 0's init did ("init 3 first", the server aborts): here every
    worker inits, a barrier follows, and no pull is needed (all workers hold the same values:
    the same seed, or the same checkpoint).
    """
    trainer._init_kvstore()
    kv = trainer._kvstore
    if kv is None or "dist" not in kv.type:
        trainer._init_params()
        return
    for i, param in enumerate(trainer._params):
        kv.init(i, param.data())
    kv._barrier()
    trainer._params_to_init = []


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
    parser.add_argument("--train-images", type=int, default=None,
                        help="use only the first N training images (quick runs, tests)")
    parser.add_argument("--out", default=os.environ.get("DIST_TRAIN_OUT"),
                        help="folder for result-<rank>.json and parameters-<rank>.npz "
                             "(default: $DIST_TRAIN_OUT, if set)")
    parser.add_argument("--checkpoint", default=os.environ.get("DIST_TRAIN_CHECKPOINT"),
                        help="folder where worker 0 saves a checkpoint after every epoch and "
                             "from which a restarted run resumes (default: "
                             "$DIST_TRAIN_CHECKPOINT, if set)")
    args = parser.parse_args(argv)

    rank, num_workers = dist.worker_info()
    distributed = os.environ.get("DMLC_ROLE") == "worker"
    if args.batch_size % num_workers:
        parser.error(f"--batch-size {args.batch_size} must be a multiple of the {num_workers} workers")
    # before the kvstore: from its first connection on, a lost role stops this one with a message
    watch = watchdog.watch_worker()
    local_batch = args.batch_size // num_workers
    config.set_seed(args.seed)

    X, y = data.to_arrays(data.load_fashion_mnist(train=True))
    if args.train_images is not None:
        X, y = X[:args.train_images], y[:args.train_images]
    steps = X.shape[0] // args.batch_size
    test_iter = data.ArrayLoader(*data.to_arrays(data.load_fashion_mnist(train=False)), 256)

    net = models.LeNet(activation="relu", pooling="max")
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    # the shapes, so that a checkpoint can be loaded before the first step; inferred, not run:
    # a forward pass would leave oneDNN-format weights, which the kvstore garbles
    net.infer_shape(X[:1])
    for param in net.collect_params().values():
        param._finish_deferred_init()
    net.hybridize()
    kv = mx.kv.create("dist_sync") if distributed else "device"
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": args.lr, "momentum": args.momentum},
                            kvstore=kv, update_on_kvstore=False)
    init_kvstore(trainer)
    blob = dist.read_checkpoint(args.checkpoint) if args.checkpoint and rank == 0 else b""
    if watch is not None:  # worker 0's checkpoint, for every worker, wherever it runs
        blob = watch.share(blob, holder=rank == 0)
    done = dist.restore_checkpoint(blob, net, trainer) if blob else 0
    if done:
        print(f"rank {rank}: resuming after epoch {done} (checkpoint in {args.checkpoint})")

    def save(history):
        epoch = done + len(history)
        if rank == 0 and args.checkpoint:
            path = dist.save_checkpoint(args.checkpoint, net, trainer, epoch)
            if watch is not None:
                watch.saved(epoch, os.path.abspath(args.checkpoint))
            print(f"rank {rank}: saved epoch {epoch} to {path}")

    loader = GlobalBatches(X, y, args.batch_size, rank, num_workers, args.seed, done + 1)
    train_iter = watchdog.Counted(loader, watch)
    started, cpu_started = time.time(), time.process_time()
    history = train.History()
    if done < args.epochs:
        history = train.fit(net, train_iter, test_iter, num_epochs=args.epochs - done,
                            trainer=trainer, ctx=mx.cpu(), on_epoch=save)
    if watch is not None:
        watch.trained()
    test_acc = history.last("test_acc") if len(history) else train.evaluate_accuracy(
        net, test_iter, mx.cpu())
    result = {
        "rank": rank, "num_workers": num_workers, "train_images": steps * local_batch,
        "steps_per_epoch": steps, "local_batch": local_batch, "epochs": args.epochs,
        "resumed_after_epoch": done,
        "test_acc": test_acc, "train_loss": history["train_loss"],
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
        np.savez(os.path.join(args.out, f"parameters-{rank}.npz"),
                 **{f"{i:04d}": p.data().asnumpy()
                    for i, p in enumerate(net.collect_params().values())})
    if distributed:
        # leave the kvstore now, while the watch still runs: its last barrier waits for every
        # role, and a role lost at that moment must still stop this one
        trainer._kvstore = trainer._kvstore_params["kvstore"] = None
        del trainer, kv
        gc.collect()
    if watch is not None:
        watch.bye()
    return 0


if __name__ == "__main__":
    raise SystemExit(watchdog.run_worker(main))
