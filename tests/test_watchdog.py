"""course_utils.admin.watchdog without MXNet roles: settings, messages, checkpoints (real LeNet)."""
import contextlib
import socket
import subprocess
import sys
import time

import pytest

from course_utils import dist
from course_utils.admin import watchdog


def test_timeout_and_address_settings():
    assert watchdog.dist_timeout({}) == 60
    assert watchdog.dist_timeout({"COURSE_DIST_TIMEOUT": "10"}) == 10
    for bad in ("0", "-3", "ten", "nan", "inf"):
        with pytest.raises(watchdog.WatchError, match="COURSE_DIST_TIMEOUT"):
            watchdog.dist_timeout({"COURSE_DIST_TIMEOUT": bad})
    env = {"DMLC_PS_ROOT_URI": "10.0.0.1", "DMLC_PS_ROOT_PORT": "9091"}
    assert watchdog.service_address(env) == ("10.0.0.1", 9092)
    assert watchdog.service_address(dict(env, COURSE_WATCH_PORT="7000")) == ("10.0.0.1", 7000)
    with pytest.raises(watchdog.WatchError, match="DMLC_PS_ROOT_URI"):
        watchdog.service_address({})
    assert watchdog.role_name({"DMLC_ROLE": "worker", "COURSE_WORKER_RANK": "1"}) == "worker 1"
    assert watchdog.role_name({"DMLC_ROLE": "server"}) == "server"


def test_runner_refuses_a_worker_role():
    out = subprocess.run([sys.executable, "-m", "course_utils.admin.watchdog"],
                         env={"DMLC_ROLE": "worker", "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "DMLC_ROLE=scheduler" in out.stderr, out.stderr


@contextlib.contextmanager
def _service(workers, servers, timeout):
    """A WatchService in its own process: yields (process, port); killed at the end if alive."""
    code = ("from course_utils.admin import watchdog\n"
            f"s = watchdog.WatchService('127.0.0.1', 0, {workers}, {servers}, timeout={timeout}).start()\n"
            "print(s.address[1], flush=True)\n"
            "import time; time.sleep(30)\n")
    with _killed_at_exit(subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)) as proc:
        yield proc, int(proc.stdout.readline())


@contextlib.contextmanager
def _killed_at_exit(proc):
    """``proc``, killed when the block ends if it still runs (a failed test leaves no process)."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_a_silent_member_is_named_by_the_service(tmp_path):
    """A client that says hello and then stays silent: the service process exits 75, naming it."""
    with _service(1, 0, timeout=2) as (proc, port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b'{"hello": "worker 1", "role": "worker", "host": "127.0.0.3"}\n')
            start = time.monotonic()
            proc.wait(timeout=20)
        assert time.monotonic() - start < 10
        err = proc.stderr.read()
        assert proc.returncode == watchdog.LOST_STATUS, err
        assert "worker 1 on 127.0.0.3 went silent" in err and "restart all roles" in err, err


def test_roles_lost_together_are_all_named():
    """A machine goes away with its worker and its server, their connections dropping 0.2 s apart:
    the third role is told about both, not only about the one the service happened to see first."""
    with _service(2, 1, timeout=10) as (proc, port):
        hello = ('{"hello": "%s", "role": "%s", "host": "%s"}\n')
        conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
        for conn, (name, role, host) in zip(conns, [("worker 0", "worker", "127.0.0.2"),
                                                    ("server", "server", "127.0.0.3"),
                                                    ("worker 1", "worker", "127.0.0.3")]):
            conn.sendall((hello % (name, role, host)).encode())
        time.sleep(0.5)  # all three said hello
        conns[1].close()  # the server goes first, its worker 0.2 s later
        time.sleep(0.2)
        conns[2].close()
        told = b""
        conns[0].settimeout(10)
        while b"stop" not in told:
            chunk = conns[0].recv(65536)
            assert chunk, "the service closed without telling worker 0 to stop"
            told += chunk
        conns[0].close()
        proc.wait(timeout=20)
        err = proc.stderr.read()
        assert proc.returncode == watchdog.LOST_STATUS, err
        for text in (told.decode(), err):
            assert "server on 127.0.0.3 closed its connection" in text, text
            assert "worker 1 on 127.0.0.3 closed its connection" in text, text
            assert "worker 0" not in text.split("stopping the run")[0], text


def test_checkpoint_roundtrip_is_exact_and_atomic(tmp_path):
    import mxnet as mx
    from mxnet import autograd, gluon
    from course_utils import models

    def make():
        net = models.LeNet(activation="relu", pooling="max")
        net.initialize(mx.init.Xavier())
        net.infer_shape(mx.nd.zeros((1, 1, 28, 28)))
        for p in net.collect_params().values():
            p._finish_deferred_init()
        return net, gluon.Trainer(net.collect_params(), "sgd",
                                  {"learning_rate": 0.1, "momentum": 0.9},
                                  update_on_kvstore=False)

    mx.random.seed(0)
    net, trainer = make()
    X, y = mx.nd.random.uniform(shape=(8, 1, 28, 28)), mx.nd.array([0, 1, 2, 3, 4, 5, 6, 7])
    loss = gluon.loss.SoftmaxCrossEntropyLoss()

    def step(n, t):
        with autograd.record():
            l = loss(n(X), y)
        l.backward()
        t.step(8)

    step(net, trainer)
    assert dist.read_checkpoint(str(tmp_path)) == b""
    dist.save_checkpoint(str(tmp_path), net, trainer, epoch=3)
    assert [p.name for p in tmp_path.iterdir()] == [dist.CHECKPOINT_FILE]  # no temp left
    other, other_trainer = make()
    assert dist.restore_checkpoint(dist.read_checkpoint(str(tmp_path)), other,
                                       other_trainer) == 3
    step(net, trainer)
    step(other, other_trainer)  # same momentum restored: the next step agrees bit for bit
    for (_, a), (_, b) in zip(sorted(net.collect_params().items()),
                              sorted(other.collect_params().items())):
        assert (a.data().asnumpy() == b.data().asnumpy()).all()
    with pytest.raises(dist.CheckpointError, match="another model"):
        small = models.MLP()
        small.initialize()
        small(mx.nd.zeros((1, 1, 28, 28)))
        dist.restore_checkpoint(dist.read_checkpoint(str(tmp_path)), small,
                                    gluon.Trainer(small.collect_params(), "sgd"))


def test_a_lost_scheduler_stops_its_clients():
    """kill -9 of the service's process: a connected server exits 75 and says the scheduler went."""
    with _service(0, 1, timeout=4) as (service, port), _killed_at_exit(subprocess.Popen(
            [sys.executable, "-c",
             "from course_utils.admin import watchdog\n"
             f"w = watchdog.Watch('server 0', 'server', ('127.0.0.1', {port}), timeout=4,"
             " host='127.0.0.2').connect()\n"
             "print('connected', flush=True)\n"
             "import time; time.sleep(30)\n"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)) as client:
        assert client.stdout.readline().strip() == "connected"
        service.kill()
        start = time.monotonic()
        client.wait(timeout=20)
        err = client.stderr.read()
        assert time.monotonic() - start < 4, err  # a dropped connection is seen at once
        assert client.returncode == watchdog.LOST_STATUS, err
        assert "server 0: the scheduler on 127.0.0.1 closed the watch connection" in err, err
