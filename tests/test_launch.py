"""``python -m course_utils launch``: real scheduler, server and workers on 127.0.0.1.

Every process a test starts carries a marker in its environment (children inherit it), so the
tests can check that nothing is left behind, whatever the launcher's own bookkeeping says.
"""
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import numpy as np
import pytest

from course_utils import dist
from course_utils.admin import launch

PY = sys.executable
MARK = "COURSE_TEST_MARK"


def marked_env():
    return dict(os.environ, **{MARK: uuid.uuid4().hex})


def survivors(env):
    """Pids of processes still alive that carry this test's marker (zombies excluded)."""
    return launch.tagged_pids(env[MARK], MARK)


def write(tmp_path, name, code):
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return str(path)


# A worker that starts a grandchild in a session of its own (out of the worker's process group)
# and then waits: the launcher must stop both.
LINGER = """
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
rank = int(os.environ["COURSE_WORKER_RANK"])
print("ready", rank, flush=True)
if rank == int(os.environ.get("FAIL_RANK", "-1")):
    time.sleep(0.5)
    sys.exit(3)
time.sleep(120)
"""


def test_worker_info_and_shard():
    assert dist.worker_info({}) == (0, 1)
    assert dist.worker_info({"COURSE_WORKER_RANK": "1", "COURSE_NUM_WORKERS": "2"}) == (1, 2)
    with pytest.raises(ValueError, match="outside"):
        dist.worker_info({"COURSE_WORKER_RANK": "2", "COURSE_NUM_WORKERS": "2"})
    parts = [range(101)[dist.shard(101, r, 2)] for r in range(2)]
    assert [len(p) for p in parts] == [50, 50]  # equal sizes: the remainder is dropped
    assert sorted(parts[0]) + sorted(parts[1]) != list(range(100))  # interleaved, not halves
    assert sorted([*parts[0], *parts[1]]) == list(range(100))
    with pytest.raises(ValueError):
        dist.shard(1, 0, 2)


def test_role_environments():
    roles = launch.role_environments(2, 1, 9000, threads=1, base={"PATH": "/bin"})
    names = [n for n, _ in roles]
    assert names == ["scheduler", "server 0", "worker 0", "worker 1"]
    for name, env in roles:
        assert env["DMLC_PS_ROOT_URI"] == "127.0.0.1" and env["DMLC_PS_ROOT_PORT"] == "9000"
        assert env["DMLC_NUM_WORKER"] == "2" and env["DMLC_NUM_SERVER"] == "1"
        assert env["DMLC_ROLE"] == name.split()[0] and env["PATH"] == "/bin"
    assert [e.get("COURSE_WORKER_RANK") for _, e in roles] == [None, None, "0", "1"]
    with pytest.raises(ValueError, match="workers"):
        launch.role_environments(0, 1, 9000)


def test_two_workers_push_and_pull_the_sum(tmp_path):
    script = write(tmp_path, "sum.py", """
        import os
        import course_utils
        import mxnet as mx
        rank = int(os.environ["COURSE_WORKER_RANK"])
        kv = mx.kv.create("dist_sync")
        kv.init("x", mx.nd.zeros((3,)))
        kv.push("x", mx.nd.full((3,), rank + 1))
        out = mx.nd.zeros((3,))
        kv.pull("x", out=out)
        print("workers", kv.num_workers, "pulled", out.asnumpy().tolist())
    """)
    env, log = marked_env(), io.StringIO()
    status = launch.launch([PY, script], num_workers=2, num_servers=1, timeout=60, out=log, env=env)
    text = log.getvalue()
    assert status == 0, text
    for rank in (0, 1):
        assert f"[worker {rank}] workers 2 pulled [3.0, 3.0, 3.0]" in text, text
    assert survivors(env) == []


def test_dist_sync_fit_equals_one_process_on_the_whole_batch(tmp_path):
    """2 workers on half a batch each == 1 process on the whole batch (same init, same steps)."""
    script = write(tmp_path, "fit.py", """
        import json, sys
        import course_utils
        from course_utils import config, data, dist, train
        import numpy as np, mxnet as mx
        from mxnet import gluon
        rank, n = dist.worker_info()
        rs = np.random.RandomState(0)
        X, y = mx.nd.array(rs.rand(64, 10)), mx.nd.array(rs.randint(0, 3, 64))
        part = dist.shard(64, rank, n)
        # one batch per step: the global batch is the two halves together
        loader = data.ArrayLoader(X[part], y[part], batch_size=64 // n)
        config.set_seed(0)
        net = gluon.nn.Dense(3)
        net.initialize(mx.init.Xavier(), ctx=mx.cpu())
        kvstore = "dist_sync" if n > 1 else "device"
        train.fit(net, loader, num_epochs=3, lr=0.1, optimizer="sgd",
                  optimizer_params={"momentum": 0.9}, ctx=mx.cpu(), kvstore=kvstore)
        with open(sys.argv[1] + f"-{n}-{rank}.json", "w") as f:
            json.dump(net.weight.data().asnumpy().tolist(), f)
    """)
    out = str(tmp_path / "w")
    env = marked_env()
    one = subprocess.run([PY, script, out], env=env, capture_output=True, text=True, timeout=60)
    assert one.returncode == 0, one.stderr
    log = io.StringIO()
    status = launch.launch([PY, script, out], num_workers=2, timeout=60, out=log, env=env)
    assert status == 0, log.getvalue()
    w_one = np.array(json.load(open(out + "-1-0.json")))
    for rank in (0, 1):
        w_two = np.array(json.load(open(out + f"-2-{rank}.json")))
        np.testing.assert_allclose(w_two, w_one, rtol=1e-5, atol=1e-6)
    assert survivors(env) == []


def test_a_failing_worker_stops_everything(tmp_path):
    script = write(tmp_path, "linger.py", LINGER)
    env, log = dict(marked_env(), FAIL_RANK="1"), io.StringIO()
    start = time.monotonic()
    status = launch.launch([PY, script], num_workers=2, timeout=60, out=log, env=env)
    assert status == 3, log.getvalue()
    assert "worker 1 exited with status 3" in log.getvalue()
    assert time.monotonic() - start < 30
    assert survivors(env) == []


def test_timeout_stops_everything(tmp_path):
    script = write(tmp_path, "linger.py", LINGER)
    env, log = marked_env(), io.StringIO()
    status = launch.launch([PY, script], num_workers=2, timeout=3, out=log, env=env)
    assert status == launch.TIMEOUT_STATUS, log.getvalue()
    assert "timeout" in log.getvalue()
    assert survivors(env) == []


def _ignore_ctrl_c():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# "ignored": how a shell without job control (a script's `cmd &`, some CI runners) starts a
# background command; the launcher used to inherit that, sit through Ctrl-C, and be killed by
# this test's timeout with every role still running
@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_ctrl_c_on_the_command_line_stops_everything(tmp_path, inherited):
    script = write(tmp_path, "linger.py", LINGER)
    env = marked_env()
    proc = subprocess.Popen([PY, "-m", "course_utils", "launch", "--workers", "2", "--", PY, script],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=_ignore_ctrl_c if inherited == "ignored" else None)
    lines = []
    try:
        for line in proc.stdout:  # wait until both workers run (and have started their children)
            lines.append(line)
            if sum(" ready " in f" {x}" for x in lines) == 2:
                break
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == launch.INTERRUPT_STATUS, "".join(lines) + rest
    assert "interrupted" in rest
    assert survivors(env) == []


def test_command_line_needs_a_command():
    with pytest.raises(ValueError, match="no command"):
        launch.launch([], num_workers=1)


@pytest.mark.parametrize("args, expected", [
    (["--workers", "0", "--", PY, "-c", "pass"], "number of workers must be a positive integer"),
    (["--workers", "1", "--", "no-such-program-here", "x.py"], "cannot run 'no-such-program-here'"),
    (["--workers", "1"], "no command to run"),
])
def test_command_line_errors_are_messages_with_status_2(args, expected):
    env = marked_env()
    out = subprocess.run([PY, "-m", "course_utils", "launch", *args], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    assert expected in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert survivors(env) == []  # nothing was started


def test_launch_runs_scheduler_and_servers_under_the_watch():
    roles = launch.role_environments(1, 2, 9000, threads=1, base={}, watch_port=9500)
    assert all(env["COURSE_WATCH_PORT"] == "9500" for _, env in roles)
    assert [e.get("COURSE_ROLE_NAME") for _, e in roles] == [None, "server 0", "server 1", None]
    assert "course_utils" in launch.SERVE and "watchdog" in launch.SERVE


def test_a_killed_worker_is_named_and_the_others_stop(tmp_path):
    """A worker killed by a signal: launch reports it (not the roles the watch then stopped)."""
    script = write(tmp_path, "die.py", """
        import os, signal, time
        import course_utils
        from course_utils.admin import watchdog
        watch = watchdog.watch_worker()
        print("ready", flush=True)
        if os.environ["COURSE_WORKER_RANK"] == "1":
            time.sleep(1)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)
    """)
    env, log = dict(marked_env(), COURSE_DIST_TIMEOUT="10"), io.StringIO()
    start = time.monotonic()
    status = launch.launch([PY, script], num_workers=2, num_servers=1, timeout=60, out=log,
                           env=env)
    text = log.getvalue()
    assert status == 128 + signal.SIGKILL, text
    assert "worker 1 exited with status 137" in text
    assert time.monotonic() - start < 40
    assert survivors(env) == []
