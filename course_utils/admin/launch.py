"""Start MXNet's parameter-server roles on this machine: ``python -m course_utils launch``.

Distributed training with the ``dist_sync`` kvstore needs three kinds of processes, each told
its role by environment variables that MXNet reads when it is imported:

- one **scheduler** (``DMLC_ROLE=scheduler``): the rendezvous point every other process dials
  at ``DMLC_PS_ROOT_URI:DMLC_PS_ROOT_PORT``;
- ``DMLC_NUM_SERVER`` **servers** (``DMLC_ROLE=server``): they hold the parameters, sum the
  gradients the workers push and run the optimizer;
- ``DMLC_NUM_WORKER`` **workers** (``DMLC_ROLE=worker``): they run your training script.

Importing MXNet as a scheduler or a server starts its serving loop (and exits when the workers
are done), so those roles run ``python -m course_utils.admin.watchdog``, which imports the course
package, starts the watch (:mod:`course_utils.admin.watchdog`: a lost role stops every other one with
a message, exit status 75) and then imports MXNet; the workers run your command.
:func:`launch` starts them all on 127.0.0.1 with a free port, streams their output with a role
prefix (``[worker 0] ...``), and returns the workers' exit status. Whatever happens (a process
fails, the timeout passes, Ctrl-C, SIGTERM) it stops every process it started, children
included: each role runs in its own process group, and every process carries a launch id in its
environment so that even one that left its group is found and stopped.

Each worker also gets ``COURSE_WORKER_RANK`` (0 .. n-1, the number in its output prefix) and
``COURSE_NUM_WORKERS``; :func:`course_utils.dist.worker_info` reads them, so a script can take its share of the
data and still run alone (rank 0 of 1). MXNet's own ``kv.rank`` is given out by the scheduler in
the order workers connect, so it may differ from ``COURSE_WORKER_RANK``: use one of the two
consistently.

Several hosts: the same roles, started by hand (or by ssh) with the same variables, and
``DMLC_PS_ROOT_URI`` set to the scheduler host's address instead of 127.0.0.1. On each host set
``DMLC_NODE_HOST`` to that host's own reachable address (or ``DMLC_INTERFACE`` to its network
interface); servers and workers listen on ports of their own, so the hosts must reach each other
on any TCP port; the scheduler's host also on ``DMLC_PS_ROOT_PORT + 1`` (the watch).
"""
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

from course_utils import _util
from course_utils.dist import COUNT_VAR, RANK_VAR

#: exit status when the timeout passed / on Ctrl-C / on SIGTERM (as the shell reports them)
TIMEOUT_STATUS = 124
INTERRUPT_STATUS = 130
TERMINATED_STATUS = 143

LAUNCH_ID_VAR = "COURSE_LAUNCH_ID"
HOST = "127.0.0.1"
#: what the scheduler and the servers run: importing MXNet with their DMLC_ROLE starts its loop;
#: course_utils.admin.watchdog imports course_utils first, then mxnet (under the watch)
SERVE = "from course_utils.admin import watchdog; raise SystemExit(watchdog.main())"
#: exit status of a role stopped by the watch because another role was lost
LOST_STATUS = 75
#: the sentinel: a process of its own that stops every process of the launch once the launcher
#: is gone, however it went (even ``kill -9``): it waits for the end of a pipe only the launcher
#: holds, then stops what still carries the launch id
SENTINEL = "import sys; from course_utils.admin import launch; launch.sentinel(sys.argv[1])"


class LaunchError(ValueError):
    """The launch cannot start (no command, a program that is not there, a bad count)."""


class _Terminated(Exception):
    """Raised in the main thread when the launcher itself receives SIGTERM or SIGHUP."""


def free_port(host=HOST):
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def role_environments(num_workers, num_servers, port, threads=None, base=None, host=HOST,
                      watch_port=None):
    """The environment of every role, as a list of ``(name, env)``: scheduler, servers, workers.

    Parameters
    ----------
    num_workers, num_servers : int
    port : int
        The scheduler's port (``DMLC_PS_ROOT_PORT``).
    threads : int, optional
        CPU threads per worker (``OMP_NUM_THREADS`` and ``COURSE_THREADS``); default: the cores
        shared equally among the workers. Scheduler and servers get one thread.
    base : dict, optional
        The environment to start from (default ``os.environ``).
    watch_port : int, optional
        The scheduler's watch port (``COURSE_WATCH_PORT``; default ``port + 1``).
    """
    for name, value in (("workers", num_workers), ("servers", num_servers)):
        _util.positive_int(value, f"the number of {name}", LaunchError, f"--{name} 2")
    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // num_workers)
    common = dict(os.environ if base is None else base)
    common.update({
        "DMLC_PS_ROOT_URI": host,
        "DMLC_PS_ROOT_PORT": str(port),
        "DMLC_NUM_SERVER": str(num_servers),
        "DMLC_NUM_WORKER": str(num_workers),
        # every node listens on this address; without it ps-lite looks for a network
        # interface other than loopback, and an offline laptop may have none
        "DMLC_NODE_HOST": host,
        "PYTHONUNBUFFERED": "1",  # stream lines as they are printed
    })
    if watch_port is not None:
        common["COURSE_WATCH_PORT"] = str(watch_port)
    common.setdefault("COURSE_QUIET", "1")  # progress bars of several processes garble a log
    roles = []
    one_thread = {"OMP_NUM_THREADS": "1", "COURSE_THREADS": "1"}
    roles.append(("scheduler", dict(common, DMLC_ROLE="scheduler", **one_thread)))
    for i in range(num_servers):
        roles.append((f"server {i}", dict(common, DMLC_ROLE="server", COURSE_ROLE_NAME=f"server {i}",
                                          **one_thread)))
    for i in range(num_workers):
        roles.append((f"worker {i}", dict(common, DMLC_ROLE="worker", OMP_NUM_THREADS=str(threads),
                                          COURSE_THREADS=str(threads), **{RANK_VAR: str(i),
                                                                          COUNT_VAR: str(num_workers)})))
    return roles


def _exit_status(returncode):
    """A shell-style status: a process killed by signal N reports 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def tagged_pids(value, variable=LAUNCH_ID_VAR):
    """Pids of live processes whose environment has ``variable=value`` (any depth of child).

    Children inherit the environment, so this finds every process a launch started, even one
    that left its process group; zombies (already dead) and this process are not listed.
    """
    me = os.getpid()
    found = []
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        for p in psutil.process_iter():
            try:
                if p.pid != me and p.environ().get(variable) == value:
                    found.append(p.pid)
            except (psutil.Error, OSError):
                continue  # gone, a zombie, or another user's process
        return found
    if os.path.isdir("/proc"):
        token = f"{variable}={value}".encode() + b"\0"
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if b"\0" + token in b"\0" + f.read() + b"\0":
                        found.append(int(entry))
            except OSError:
                continue
    return found


def _ignore_signals():
    """Ignore Ctrl-C, SIGTERM and SIGHUP for a while; returns the handlers to put back."""
    saved = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            saved[sig] = signal.signal(sig, signal.SIG_IGN)
    return saved


def _start_sentinel(launch_id, env):
    """Start the sentinel (:func:`sentinel`); returns ``(process, the pipe end to keep open)``."""
    read_end, write_end = os.pipe()  # not inherited by the roles (non-inheritable by default)
    try:
        proc = subprocess.Popen([sys.executable, "-c", SENTINEL, launch_id], stdin=read_end,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={k: v for k, v in env.items() if k != LAUNCH_ID_VAR},
                                start_new_session=hasattr(os, "setsid"))
    except OSError:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    return proc, write_end


def _end_sentinel(proc, write_end, timeout=10.0):
    """Close the launcher's end of the pipe and wait for the sentinel's last sweep."""
    os.close(write_end)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def sentinel(launch_id, stream=None):
    """Wait until the launcher is gone (its pipe ends), then stop every process of ``launch_id``.

    The launcher normally stops its processes itself and then closes the pipe, so this finds
    nothing; when the launcher was killed before it could, this is what stops them.
    """
    for name in ("SIGINT", "SIGHUP"):  # a terminal's signals are the launcher's business
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    stream = sys.stdin.buffer if stream is None else stream
    while stream.read(1 << 16):
        pass
    stop_all([], launch_id)


def _signal_all(procs, launch_id, sig):
    for proc in procs:
        try:
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, sig)  # the role and every child still in its group
            elif proc.poll() is None:
                proc.kill()
        except (ProcessLookupError, PermissionError):
            pass
    if hasattr(os, "kill"):
        for pid in tagged_pids(launch_id):  # children that started a session of their own
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


def stop_all(procs, launch_id, grace=3.0):
    """Stop every process of a launch: SIGTERM, then SIGKILL after ``grace`` seconds.

    Returns the pids still found afterwards (normally none).
    """
    sigterm = getattr(signal, "SIGTERM", None)
    sigkill = getattr(signal, "SIGKILL", sigterm)
    _signal_all(procs, launch_id, sigterm)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if all(p.poll() is not None for p in procs) and not tagged_pids(launch_id):
            break
        time.sleep(0.05)
    else:
        _signal_all(procs, launch_id, sigkill)
    for p in procs:
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    end = time.monotonic() + grace
    left = tagged_pids(launch_id)
    while left and time.monotonic() < end:  # SIGKILLed processes take a moment to vanish
        time.sleep(0.05)
        left = tagged_pids(launch_id)
    return left


class _Printer:
    """Copies each process's output line by line, with a ``[role]`` prefix, to one stream."""

    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()

    def say(self, text):
        with self.lock:
            try:
                self.out.write(text if text.endswith("\n") else text + "\n")
                self.out.flush()
            except (OSError, ValueError):
                pass  # the terminal went away (closed notebook, killed shell): keep cleaning up

    def follow(self, name, pipe):
        def pump():
            for raw in iter(pipe.readline, b""):
                self.say(f"[{name}] " + raw.decode("utf-8", "replace").rstrip("\r\n"))
            pipe.close()

        thread = threading.Thread(target=pump, name=f"launch-{name}", daemon=True)
        thread.start()
        return thread


def launch(command, num_workers=2, num_servers=1, timeout=None, threads=None, grace=10.0,
           out=None, env=None):
    """Run ``command`` as ``num_workers`` workers beside a scheduler and ``num_servers`` servers.

    Parameters
    ----------
    command : list of str or str
        The worker command, e.g. ``[sys.executable, "dist_train.py"]`` (a string is split like a
        shell would).
    num_workers, num_servers : int
    timeout : float, optional
        Seconds after which everything is stopped and 124 returned.
    threads : int, optional
        CPU threads per worker; default: the cores shared equally among the workers.
    grace : float
        Seconds the scheduler and servers get to finish after the last worker has.
    out : text stream, optional
        Where the prefixed output goes (default ``sys.stdout``).
    env : dict, optional
        The environment to start from (default ``os.environ``).

    Returns
    -------
    int
        0 when every worker succeeded; else the status of the first process that failed
        (a process killed by signal N gives 128 + N), 124 on timeout, 130 on Ctrl-C, 143 on
        SIGTERM.
    """
    if isinstance(command, str):
        command = shlex.split(command)
    command = list(command)
    if not command:
        raise LaunchError("no command to run: put it after '--', e.g. "
                          "python -m course_utils launch --workers 2 -- python train.py")
    if shutil.which(command[0]) is None:
        raise LaunchError(f"cannot run {command[0]!r}: no such program (not a path to an "
                          "executable file, nor found on PATH); give the full path, e.g. "
                          f"{sys.executable} {' '.join(command[1:]) or 'train.py'}")
    if timeout is not None and timeout <= 0:
        raise LaunchError(f"timeout must be positive seconds, got {timeout!r}")
    printer = _Printer(out or sys.stdout)
    launch_id = uuid.uuid4().hex
    roles = role_environments(num_workers, num_servers, 1, threads, env)  # checks the counts
    port, watch_port = free_port(), free_port()
    while watch_port == port:
        watch_port = free_port()
    roles = role_environments(num_workers, num_servers, port, threads, env, watch_port=watch_port)
    procs, names, threads_out = [], [], []
    previous, guard, left = {}, None, []

    def on_signal(signum, frame):
        raise _Terminated(signum)

    in_main = threading.current_thread() is threading.main_thread()
    status = None
    start = time.monotonic()
    try:
        if in_main:
            # Ctrl-C and SIGTERM stop the launch even when they were ignored where it started:
            # a shell without job control starts background commands with SIGINT ignored, and
            # the launcher would then sit through a Ctrl-C while its roles run on. A SIGHUP that
            # nohup ignores stays ignored.
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
            for name in ("SIGTERM", "SIGHUP"):
                sig = getattr(signal, name, None)
                if sig is not None and not (name == "SIGHUP"
                                            and signal.getsignal(sig) == signal.SIG_IGN):
                    previous[sig] = signal.signal(sig, on_signal)
        guard = _start_sentinel(launch_id, dict(os.environ if env is None else env))
        printer.say(f"[launch] scheduler on {HOST}:{port}, {num_servers} server(s), "
                    f"{num_workers} worker(s) running: {shlex.join(_short(c) for c in command)}")
        for name, role_env in roles:
            role_env[LAUNCH_ID_VAR] = launch_id
            argv = command if name.startswith("worker") else [sys.executable, "-c", SERVE]
            proc = subprocess.Popen(argv, env=role_env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=hasattr(os, "setsid"))
            procs.append(proc)
            names.append(name)
            threads_out.append(printer.follow(name, proc.stdout))
        workers = [p for p, n in zip(procs, names) if n.startswith("worker")]
        workers_done_at = None
        while status is None:
            failed = [(n, _exit_status(p.poll())) for p, n in zip(procs, names) if p.poll()]
            if failed:  # non-zero: stop everything
                # the role that failed first, not those the watch stopped because of it
                name, status = min(failed, key=lambda f: f[1] == LOST_STATUS)
                why = (" (stopped by the watch: another role was lost)"
                       if status == LOST_STATUS else "")
                printer.say(f"[launch] {name} exited with status {status}{why}; "
                            "stopping all processes")
                break
            if all(p.poll() == 0 for p in workers):
                if all(p.poll() is not None for p in procs):
                    status = 0
                    break
                workers_done_at = workers_done_at or time.monotonic()
                if time.monotonic() - workers_done_at > grace:
                    printer.say("[launch] the workers finished but the scheduler or a server is "
                                "still running; stopping it")
                    status = 0
                    break
            if timeout is not None and time.monotonic() - start > timeout:
                printer.say(f"[launch] timeout: still running after {timeout:g} s; "
                            "stopping all processes")
                status = TIMEOUT_STATUS
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        printer.say("[launch] interrupted; stopping all processes")
        status = INTERRUPT_STATUS
    except _Terminated:
        printer.say("[launch] terminated; stopping all processes")
        status = TERMINATED_STATUS
    finally:
        # runs on every exit path, including errors while starting the processes; a second
        # Ctrl-C, or the SIGHUP of a closing terminal, must not cut the clean-up short
        saved = _ignore_signals() if in_main else {}
        try:
            left = stop_all(procs, launch_id) if procs else []
            for t in threads_out:
                t.join(timeout=2.0)
            if guard is not None:
                _end_sentinel(*guard)
        finally:
            saved.update(previous)  # SIGTERM and SIGHUP: the handlers from before launch()
            for sig, handler in saved.items():
                signal.signal(sig, handler)
        if left:
            printer.say(f"[launch] could not stop processes {left}; stop them by hand")
    printer.say(f"[launch] finished with status {status} after {time.monotonic() - start:.1f} s")
    return status


def _short(arg):
    """An argument as shown in the log: interpreters by their name, not their full path."""
    return os.path.basename(arg) if os.path.isabs(arg) and os.access(arg, os.X_OK) else arg
