"""The README's multi-host recipe, followed literally, with the hosts played by loopback addresses.

Scheduler at 127.0.0.1, "host A" at 127.0.0.2 and "host B" at 127.0.0.3, each with a server and
a worker: five processes started one by one with the README's variables (each role its own
``DMLC_NODE_HOST``), no ``launch``. Then the failures a classroom meets: one machine's worker or
server killed (``kill -9``) mid-training; every other process must exit with the watch's status
and a message naming the lost role, within ``COURSE_DIST_TIMEOUT``; restarted, the run resumes
from worker 0's checkpoint and ends with the parameters of an uninterrupted run.

Every process carries a marker in its environment; each test kills whatever still carries it
(``finally``) and fails if anything did. Every wait has a deadline.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from course_utils.admin import launch, watchdog

psutil = pytest.importorskip("psutil")

PY = sys.executable
ROOT = Path(__file__).resolve().parents[1]
SCRIPT = str(ROOT / "notebooks" / "scripts" / "dist_train.py")
MARK = "COURSE_TEST_MARK"
SCHEDULER, HOST_A, HOST_B = "127.0.0.1", "127.0.0.2", "127.0.0.3"
TIMEOUT = 10  # COURSE_DIST_TIMEOUT in these tests: every process must be gone within it
EPOCHS, IMAGES = 3, 2048  # 16 steps of 128 per epoch: seconds per run, still a real training
FIRST_IMAGES = 512  # the first 4 steps (one epoch), compared with one process to the last bit
#: a whole run may take this long on a loaded 2-core machine (it takes ~10-20 s alone)
RUN_DEADLINE = 120


def _loopback_alias_works():
    try:
        with socket.socket() as s:
            s.bind((HOST_B, 0))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _loopback_alias_works(),
                                reason="127.0.0.2/127.0.0.3 are not usable on this system")


def port_pair():
    """A root port p with p + 1 (the watch) free too."""
    for _ in range(50):
        p = launch.free_port(SCHEDULER)
        if p < 65535:
            try:
                with socket.socket() as s:
                    s.bind((SCHEDULER, p + 1))
                return p
            except OSError:
                continue
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


def marked(env):
    """The live processes that carry this test's marker (found like launch finds its own)."""
    found = []
    for pid in launch.tagged_pids(env[MARK], MARK):
        try:
            found.append(psutil.Process(pid))
        except psutil.Error:
            continue  # gone since
    return found


class Recipe:
    """The five roles of the README recipe, each started on its own like on its own machine."""

    def __init__(self, tmp, port, args=(), epochs=EPOCHS, images=IMAGES):
        self.tmp, self.port, self.args = Path(tmp), port, list(args)
        self.epochs, self.images = epochs, images
        self.base = dict(os.environ, **{
            MARK: uuid.uuid4().hex, "DMLC_PS_ROOT_URI": SCHEDULER,
            "DMLC_PS_ROOT_PORT": str(port), "DMLC_NUM_SERVER": "2", "DMLC_NUM_WORKER": "2",
            watchdog.TIMEOUT_VAR: str(TIMEOUT), "COURSE_THREADS": "1", "OMP_NUM_THREADS": "1",
            "COURSE_QUIET": "1", "PYTHONUNBUFFERED": "1"})
        self.base.pop(watchdog.PORT_VAR, None)
        self.procs = {}

    def start(self, name, role, host, argv, **extra):
        env = dict(self.base, DMLC_ROLE=role, **extra)
        if host:
            env["DMLC_NODE_HOST"] = host
        log = open(self.tmp / f"{name.replace(' ', '-')}.log", "ab")
        self.procs[name] = (subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True),
                            log)

    def start_all(self):
        serve = [PY, "-m", "course_utils.admin.watchdog"]
        self.start("scheduler", "scheduler", None, serve)
        self.start("server A", "server", HOST_A, serve)
        self.start("server B", "server", HOST_B, serve)
        train = [PY, SCRIPT, "--epochs", str(self.epochs), "--train-images", str(self.images),
                 "--out", str(self.tmp / "out"), *self.args]
        for rank, host in enumerate((HOST_A, HOST_B)):
            self.start(f"worker {rank}", "worker", host, train,
                       COURSE_WORKER_RANK=str(rank), COURSE_NUM_WORKERS="2")
        return self

    def log(self, name):
        path = self.tmp / f"{name.replace(' ', '-')}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self):
        return "\n".join(f"--- {n}\n{self.log(n)}" for n in self.procs)

    def wait_for_line(self, name, text, deadline):
        end = time.monotonic() + deadline
        while text not in self.log(name):
            if time.monotonic() > end:
                raise AssertionError(f"{name} did not print {text!r} within {deadline} s\n"
                                     + self.logs())
            if self.procs[name][0].poll() is not None:
                raise AssertionError(f"{name} exited before printing {text!r}\n" + self.logs())
            time.sleep(0.05)

    def wait(self, deadline, names=None):
        """Return codes of ``names`` (default all); AssertionError if one still runs at the end."""
        names = list(names or self.procs)
        end = time.monotonic() + deadline
        codes = {}
        for name in names:
            proc = self.procs[name][0]
            try:
                codes[name] = proc.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise AssertionError(f"{name} still running after {deadline} s\n"
                                     + self.logs()) from None
        return codes

    def kill(self, name):
        os.killpg(self.procs[name][0].pid, signal.SIGKILL)

    def cleanup(self):
        """Kill everything this recipe started; return what was still alive."""
        alive = marked(self.base)
        for p in alive:
            try:
                p.kill()
            except psutil.Error:
                pass
        for proc, log in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            log.close()
        psutil.wait_procs(alive, timeout=10)
        return [p.pid for p in alive]


@pytest.fixture
def recipes():
    started = []
    yield started
    left = {}
    for r in started:
        pids = r.cleanup()
        if pids:
            left[r.tmp] = pids
    assert not left, f"processes left running (killed now): {left}"
    for r in started:  # the ports are free again
        for port in (r.port, r.port + 1):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((SCHEDULER, port))


def results(folder):
    return [json.loads((Path(folder) / f"result-{r}.json").read_text()) for r in (0, 1)]


def parameters(folder, rank=0):
    """All parameters that ``dist_train.py --out folder`` wrote for ``rank``, as one vector."""
    with np.load(Path(folder) / f"parameters-{rank}.npz") as z:
        return np.concatenate([z[k].ravel() for k in sorted(z.files)]).astype(np.float64)


def relative_distance(p, ref):
    return float(np.linalg.norm(p - ref) / np.linalg.norm(ref))


def two_hosts_and_one_process(tmp, epochs, images):
    """The recipe to its normal end, then one process alone on the same global batches."""
    r = Recipe(tmp, port_pair(), epochs=epochs, images=images)
    try:
        r.start_all()
        codes = r.wait(RUN_DEADLINE)
        text = r.logs()
        left = r.cleanup()
    finally:
        r.cleanup()
    assert codes == dict.fromkeys(codes, 0), text
    assert not left, f"processes left after a normal end: {left}\n{text}"
    env = dict(os.environ, COURSE_THREADS="1", OMP_NUM_THREADS="1", COURSE_QUIET="1")
    for var in [v for v in env if v.startswith("DMLC_") or v.startswith("COURSE_WORKER")]:
        env.pop(var)
    one = subprocess.run([PY, SCRIPT, "--epochs", str(epochs), "--train-images", str(images),
                          "--out", str(tmp / "one")], env=env, capture_output=True, text=True,
                         timeout=RUN_DEADLINE)
    assert one.returncode == 0, one.stdout + one.stderr
    return {"workers": results(tmp / "out"), "one": json.loads((tmp / "one" / "result-0.json")
                                                                .read_text()),
            "parameters": [parameters(tmp / "out", r) for r in (0, 1)],
            "one_parameters": parameters(tmp / "one"), "log": text}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run of the recipe (shared by the tests below) and one process alone."""
    return two_hosts_and_one_process(tmp_path_factory.mktemp("reference"), EPOCHS, IMAGES)


@pytest.fixture(scope="module")
def first_steps(tmp_path_factory):
    """The recipe's first 4 steps, and one process's."""
    return two_hosts_and_one_process(tmp_path_factory.mktemp("first-steps"), 1, FIRST_IMAGES)


def test_recipe_trains_one_model_on_two_hosts(reference, first_steps):
    # the same global batches as one process: only the order of the floating-point sums differs
    # (two half-batch sums added on a server vs one sum). After 4 steps that leaves ~1e-8 of the
    # parameters; a worker that divides its gradient by its own 64 images instead of the global
    # 128 leaves 1.5e-2, one that trains on the other worker's half instead of its own 6e-3:
    # the bar, 1e-6, is 100 times the rounding and 6,000 times below the smaller bug.
    # (After 48 steps rounding alone grows to ~2e-2: training amplifies any difference, so
    # the long run is no precise test; its test accuracy differs by up to 16 of 2,000 images
    # between CPU types, whose oneDNN kernels sum in other orders.)
    p0, p1 = first_steps["parameters"]
    distance = relative_distance(p0, first_steps["one_parameters"])
    w0, w1 = reference["workers"]
    one = reference["one"]
    # each worker's loss is over its half of every batch: their mean is the global batch's
    loss_two = (w0["train_loss"][-1] + w1["train_loss"][-1]) / 2
    print(f"after 4 steps, 2 workers vs 1 process: relative distance {distance:.2e}; after 48: "
          f"{relative_distance(reference['parameters'][0], reference['one_parameters']):.2e}, "
          f"test accuracy {w0['test_acc']} vs {one['test_acc']}, last-epoch loss "
          f"{loss_two:.5f} vs {one['train_loss'][-1]:.5f}")
    assert distance < 1e-6, f"after 4 steps the 2 workers are {distance:.1e} from 1 process"
    # every worker holds the very same parameters (bit for bit)
    assert np.array_equal(p0, p1)
    assert w0["parameters_sha1"] == w1["parameters_sha1"]
    assert np.array_equal(*reference["parameters"])
    assert w0["num_workers"] == 2 and w0["local_batch"] == 64 and w0["steps_per_epoch"] == 16
    assert w0["train_images"] * 2 == one["train_images"] == IMAGES  # per epoch: half of each batch
    assert first_steps["workers"][0]["steps_per_epoch"] == 4
    # it learned like one process (10 classes: chance is 0.1)
    assert abs(loss_two - one["train_loss"][-1]) <= 0.005
    assert one["test_acc"] >= 0.6 and w0["test_acc"] >= 0.6


def _lost_run(recipes, tmp_path, victim, lost_name):
    """Start the recipe with checkpoints, kill ``victim`` after epoch 1 is saved, check the rest."""
    ckpt = tmp_path / "ckpt"
    r = Recipe(tmp_path, port_pair(), ["--checkpoint", str(ckpt)])
    recipes.append(r)
    r.start_all()
    r.wait_for_line("worker 0", "saved epoch 1", RUN_DEADLINE)
    r.kill(victim)
    killed_at = time.monotonic()
    others = [n for n in r.procs if n != victim]
    codes = r.wait(TIMEOUT + 5, others)  # + 5: the time a loaded machine takes to print and exit
    elapsed = time.monotonic() - killed_at
    text = r.logs()
    assert "saved epoch %d" % EPOCHS not in r.log("worker 0"), "the run ended before the kill"
    for name in others:
        assert codes[name] == watchdog.LOST_STATUS, (name, codes, text)
        log = r.log(name)
        assert lost_name in log and "restart all roles" in log, (name, text)
    assert elapsed < TIMEOUT + 5
    assert r.cleanup() == []  # nothing left: every process exited by itself
    return r, ckpt, text


def test_a_lost_worker_stops_everyone_and_the_run_resumes(recipes, tmp_path, reference):
    r, ckpt, text = _lost_run(recipes, tmp_path, "worker 1", f"worker 1 on {HOST_B}")
    assert "resumes from epoch" in text
    # restart every role with the same commands: the run resumes after the saved epoch
    again = Recipe(tmp_path / "again", port_pair(), ["--checkpoint", str(ckpt)])
    (tmp_path / "again").mkdir()
    recipes.append(again)
    again.start_all()
    codes = again.wait(RUN_DEADLINE)
    assert codes == dict.fromkeys(codes, 0), again.logs()
    w0, w1 = results(tmp_path / "again" / "out")
    assert w0["resumed_after_epoch"] >= 1 and w1["resumed_after_epoch"] == w0["resumed_after_epoch"]
    assert "resuming after epoch" in again.log("worker 1")  # worker 1 got it over the kvstore
    # same parameters as the uninterrupted run of the same length, bit for bit: the same
    # batches (drawn from seed and epoch), the momentum restored, two-term sums commute
    ref = reference["workers"][0]
    assert w0["parameters_sha1"] == w1["parameters_sha1"] == ref["parameters_sha1"]
    assert w0["test_acc"] == ref["test_acc"]


def test_a_lost_server_stops_everyone(recipes, tmp_path):
    _lost_run(recipes, tmp_path, "server B", f"server on {HOST_B}")
