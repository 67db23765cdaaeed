"""When a machine of a distributed run is lost, stop every other one with a message; then resume.

MXNet's parameter-server roles (scheduler, servers, workers; see :mod:`course_utils.admin.launch`)
wait for each other forever: kill one worker and the scheduler, the servers and the other
workers all keep waiting, silently (ps-lite's own ``PS_HEARTBEAT_TIMEOUT`` only marks the dead
node for a replacement that never comes; checked with a 5 s timeout: 20 s after ``kill -9`` of
a worker, every other process was still running). This module bounds that wait:

- the **scheduler** runs a small *watch service* (plain TCP, one JSON line per message) on
  ``DMLC_PS_ROOT_URI`` at ``DMLC_PS_ROOT_PORT + 1`` (or ``COURSE_WATCH_PORT``);
- every **server** and **worker** connects to it and pings it (about once a second); the service
  pings back;
- when a connection drops without a goodbye, or a role stays silent for half of
  ``COURSE_DIST_TIMEOUT`` (default 60 s), or a worker that has started training makes no step
  for ``COURSE_DIST_TIMEOUT``, the service tells every other role and they all print who was
  lost and what to do, and exit with status :data:`LOST_STATUS` (75). A role that loses the
  service itself (the scheduler's machine is gone) does the same on its own, so every process
  is gone within ``COURSE_DIST_TIMEOUT``.

The scheduler and the servers run ``python -m course_utils.admin.watchdog`` (it imports the course
package, starts the watch, then imports MXNet, whose import runs the role's loop); a worker
script calls :func:`watch_worker` before it creates its kvstore (``dist_train.py`` does).

Resume: :func:`course_utils.dist.save_checkpoint` writes parameters, trainer state and the epoch to one file,
atomically (a temporary file, then a rename: a crash leaves the previous checkpoint whole);
:meth:`Watch.share` gives every worker the bytes that worker 0 read, through the watch service,
so only worker 0's machine needs the checkpoint folder.

Nothing here is encrypted or authenticated, like MXNet's own traffic: a trusted network only.
"""
import base64
import json
import os
import queue
import socket
import sys
import threading
import time

#: exit status of a process stopped because another role was lost (EX_TEMPFAIL: try again)
LOST_STATUS = 75
TIMEOUT_VAR = "COURSE_DIST_TIMEOUT"
PORT_VAR = "COURSE_WATCH_PORT"
NAME_VAR = "COURSE_ROLE_NAME"
DEFAULT_TIMEOUT = 60.0
#: a role waits this many timeouts for the scheduler's watch service to appear at start-up
START_FACTOR = 5


class WatchError(Exception):
    """A setting of the watch is wrong (port, timeout, role): the message says which and why."""


def dist_timeout(environ=None):
    """Seconds within which every process stops after a role is lost (``COURSE_DIST_TIMEOUT``)."""
    env = os.environ if environ is None else environ
    text = env.get(TIMEOUT_VAR, "")
    if not text.strip():
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise WatchError(f"{TIMEOUT_VAR}={text!r} is not a positive number of seconds; "
                         f"unset it (default {DEFAULT_TIMEOUT:g}) or set e.g. {TIMEOUT_VAR}=60")
    return value


def service_address(environ=None):
    """``(host, port)`` of the watch service: the scheduler's address, its port + 1."""
    env = os.environ if environ is None else environ
    host = env.get("DMLC_PS_ROOT_URI")
    if not host:
        raise WatchError("DMLC_PS_ROOT_URI is not set: every role needs the scheduler's address "
                         "(see the README's multi-host section)")
    try:
        port = int(env[PORT_VAR]) if env.get(PORT_VAR) else int(env["DMLC_PS_ROOT_PORT"]) + 1
    except (KeyError, ValueError):
        raise WatchError(f"DMLC_PS_ROOT_PORT={env.get('DMLC_PS_ROOT_PORT')!r} (or {PORT_VAR}) "
                         "must be a port number, e.g. 9091") from None
    if not 0 < port < 65536:
        raise WatchError(f"watch port {port} is outside 1..65535: choose DMLC_PS_ROOT_PORT below "
                         f"65535 or set {PORT_VAR}")
    return host, port


def role_name(environ=None):
    """How this process is named in messages: ``worker 1``, ``server 0``, ``scheduler``."""
    env = os.environ if environ is None else environ
    if env.get(NAME_VAR):
        return env[NAME_VAR]
    role = env.get("DMLC_ROLE", "worker")
    if role == "worker" and env.get("COURSE_WORKER_RANK"):
        return f"worker {env['COURSE_WORKER_RANK']}"
    return role


def _say(text):
    try:
        print(f"[watchdog] {text}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _stop(text):
    """Print why and leave at once: MXNet's threads, blocked on a lost peer, never return."""
    _say(text)
    os._exit(LOST_STATUS)


def _send(sock, lock, message):
    data = (json.dumps(message) + "\n").encode()
    with lock:
        try:
            sock.sendall(data)
            return True
        except OSError:
            return False


def _lines(sock):
    """Yield the JSON messages read from ``sock``; ends on EOF; raises socket.timeout on silence."""
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # not ours (a port scan, a stray client): ignore
            if isinstance(msg, dict):
                yield msg


#: what a role that lost the scheduler itself says (it does not know the last checkpoint)
RESTART = ("restart all roles (scheduler, servers, workers) with the same commands; the run "
           "resumes from worker 0's last checkpoint, if it saved one (dist_train.py --checkpoint)")


def _advice(checkpoint):
    if checkpoint is None:
        return ("restart all roles (scheduler, servers, workers) with the same commands; no "
                "checkpoint was saved yet (dist_train.py --checkpoint DIR saves one each epoch), "
                "so training starts again from epoch 1")
    epoch, where = checkpoint
    return (f"restart all roles (scheduler, servers, workers) with the same commands; the run "
            f"resumes from epoch {epoch + 1} (worker 0 saved epoch {epoch} in {where})")


class _Member:
    def __init__(self, sock, addr):
        self.sock, self.lock = sock, threading.Lock()
        self.name, self.host, self.pid, self.kind = "an unknown role", addr[0], None, None
        self.heard = time.monotonic()
        self.steps, self.stepped_at = 0, None
        self.trained = self.bye = False

    def __str__(self):
        return f"{self.name} on {self.host}" + (f" (pid {self.pid})" if self.pid else "")


class WatchService:
    """The scheduler's side: who is connected, who went silent; tells everyone when one is lost.

    Parameters
    ----------
    host, port : where to listen (the scheduler's reachable address, root port + 1)
    num_workers, num_servers : int
        How many roles should join (for the note about roles that never did).
    timeout : float
        ``COURSE_DIST_TIMEOUT``: silence for ``timeout / 2`` or no training step for ``timeout``
        counts as lost.
    """

    def __init__(self, host, port, num_workers, num_servers, timeout=DEFAULT_TIMEOUT):
        self.timeout, self.num_workers, self.num_servers = timeout, num_workers, num_servers
        self.interval = min(1.0, timeout / 10)
        self.members, self.lock = [], threading.Lock()
        self.checkpoint = None
        self.shared, self.waiting = None, []  # worker 0's checkpoint bytes, who waits for them
        self.finishing = False
        self.started = time.monotonic()
        self.noted = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as err:
            self.sock.close()
            raise WatchError(f"the scheduler cannot listen for its watch on {host}:{port} ({err}): "
                             f"is another run using that port? choose another DMLC_PS_ROOT_PORT "
                             f"(the watch takes the next one) or set {PORT_VAR}") from None
        self.sock.listen(64)
        self.address = self.sock.getsockname()

    def start(self):
        for target in (self._accept, self._monitor):
            threading.Thread(target=target, daemon=True, name=f"watch-{target.__name__}").start()
        return self

    def _accept(self):
        while True:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            member = _Member(conn, addr)
            with self.lock:
                self.members.append(member)
            threading.Thread(target=self._read, args=(member,), daemon=True).start()

    def _read(self, m):
        m.sock.settimeout(None)
        try:
            for msg in _lines(m.sock):
                now = time.monotonic()
                with self.lock:
                    m.heard = now
                    if "hello" in msg:
                        m.name, m.kind = str(msg["hello"]), msg.get("role")
                        m.host, m.pid = str(msg.get("host") or m.host), msg.get("pid")
                    if "steps" in msg and msg["steps"] != m.steps:
                        m.steps, m.stepped_at = msg["steps"], now
                    if "saved" in msg:
                        self.checkpoint = (int(msg["saved"]), str(msg.get("path")))
                    if msg.get("trained"):
                        m.trained = True
                    if msg.get("bye"):
                        m.bye = True
                    if "share" in msg:
                        self._share(m, msg)
        except OSError:
            pass
        with self.lock:
            if m.bye or self.finishing or m.kind is None:  # a goodbye, the end, or not a role
                self.members.remove(m)
                return
        self.lost(m, "closed its connection (the process died or its machine went away)")

    def _share(self, m, msg):
        """Worker 0 hands in its checkpoint (maybe none); every worker gets a copy (lock held)."""
        if msg.get("holder"):
            self.shared = {"shared": msg["share"]}
        self.waiting.append(m)
        if self.shared is not None:
            for w in self.waiting:
                _send(w.sock, w.lock, self.shared)
            self.waiting = []

    def lost(self, member, why):
        """Tell every other role that ``member`` is lost, print it, exit with LOST_STATUS."""
        with self.lock:
            text = f"{member} {why}: stopping the run. " + _advice(self.checkpoint)
            others = [m for m in self.members if m is not member]
        for m in others:
            _send(m.sock, m.lock, {"stop": text})
        _stop(f"scheduler: {text}")

    def finish(self):
        """The scheduler's loop ended normally: the others may now close without alarm."""
        with self.lock:
            self.finishing = True
            members = list(self.members)
        for m in members:
            _send(m.sock, m.lock, {"finish": True})

    def _monitor(self):
        while True:
            time.sleep(self.interval)
            now = time.monotonic()
            with self.lock:
                if self.finishing:
                    return
                members = list(self.members)
            for m in members:
                _send(m.sock, m.lock, {"ping": True})
                if m.bye or m.kind is None:
                    continue
                if now - m.heard > self.timeout / 2:
                    self.lost(m, f"went silent ({now - m.heard:.0f} s without a ping)")
                if (m.kind == "worker" and m.stepped_at is not None and not m.trained
                        and now - m.stepped_at > self.timeout):
                    self.lost(m, f"made no training step for {now - m.stepped_at:.0f} s "
                                 f"(stuck after step {m.steps})")
            if not self.noted and now - self.started > START_FACTOR * self.timeout:
                self.noted = True
                self._note_missing(members)

    def _note_missing(self, members):
        kinds = [m.kind for m in members]
        missing = []
        for kind, wanted in (("server", self.num_servers), ("worker", self.num_workers)):
            if kinds.count(kind) < wanted:
                missing.append(f"{wanted - kinds.count(kind)} of {wanted} {kind}s")
        if missing:
            _say(f"scheduler: {START_FACTOR * self.timeout:g} s after start, not watched: {', '.join(missing)} "
                 "(not started yet, or a worker script that does not call "
                 "course_utils.admin.watchdog.watch_worker()): a loss of those is not detected")


class Watch:
    """A server's or worker's side: pings the watch service; stops this process when told to.

    Parameters
    ----------
    name : str
        This process in messages, e.g. ``'worker 1'``.
    kind : str
        ``'worker'`` or ``'server'``.
    address : (host, port)
        The watch service (:func:`service_address`).
    timeout : float
        ``COURSE_DIST_TIMEOUT``.
    host : str, optional
        This machine's address in messages (default ``DMLC_NODE_HOST``, else the address this
        connection leaves from).
    """

    def __init__(self, name, kind, address, timeout=DEFAULT_TIMEOUT, host=None):
        self.name, self.kind, self.address, self.timeout = name, kind, address, timeout
        self.host = host or os.environ.get("DMLC_NODE_HOST")
        self.interval = min(1.0, timeout / 10)
        self.steps = 0
        self.sock, self.lock = None, threading.Lock()
        self.finishing = False
        self._shared = queue.Queue()

    def connect(self):
        """Connect to the watch service, retrying for ``START_FACTOR x timeout`` seconds."""
        deadline = time.monotonic() + START_FACTOR * self.timeout
        host, port = self.address
        while True:
            try:
                self.sock = socket.create_connection((host, port), timeout=self.timeout / 2)
                break
            except OSError as err:
                if time.monotonic() > deadline:
                    _stop(f"{self.name}: no watch service at {host}:{port} after "
                          f"{START_FACTOR * self.timeout:g} s ({err}): start the scheduler "
                          "(DMLC_ROLE=scheduler python -m course_utils.admin.watchdog) and check that "
                          f"port {port} on {host} is reachable, then restart this role")
                time.sleep(min(0.5, self.interval))
        self.host = self.host or self.sock.getsockname()[0]
        _send(self.sock, self.lock, {"hello": self.name, "role": self.kind, "host": self.host,
                                     "pid": os.getpid()})
        threading.Thread(target=self._run, daemon=True, name="watch-client").start()
        return self

    def share(self, blob, holder):
        """Worker 0's checkpoint bytes, for every worker: only worker 0's machine needs the file.

        Every worker calls it at start-up; the one with ``holder=True`` (worker 0) passes what
        :func:`read_checkpoint` gave (``b''`` for none). Waits for worker 0 as long as a role
        waits for the service at start-up; returns the bytes.
        """
        _send(self.sock, self.lock, {"share": base64.b64encode(blob).decode(), "holder": holder})
        wait = START_FACTOR * self.timeout
        try:
            return base64.b64decode(self._shared.get(timeout=wait))
        except queue.Empty:
            _stop(f"{self.name}: worker 0 did not hand in its checkpoint within {wait:g} s: "
                  "is worker 0 running? " + RESTART)

    def step(self):
        """Count one training step (the service stops a run whose steps stop)."""
        self.steps += 1

    def saved(self, epoch, path):
        """Tell the service that a checkpoint of ``epoch`` is in ``path`` (for the message)."""
        _send(self.sock, self.lock, {"saved": epoch, "path": path})

    def trained(self):
        """Training is over: no more steps to expect (shutting down may take a moment)."""
        _send(self.sock, self.lock, {"trained": True})

    def bye(self):
        """This process ends normally: its connection closing is no alarm."""
        self.finishing = True
        if self.sock is not None:
            _send(self.sock, self.lock, {"bye": True})

    def _run(self):
        sock = self.sock
        sock.settimeout(self.timeout / 2)
        pinger = threading.Thread(target=self._ping, daemon=True, name="watch-ping")
        pinger.start()
        host, port = self.address
        try:
            for msg in _lines(sock):
                if "stop" in msg:
                    _stop(f"{self.name}: {msg['stop']}")
                if msg.get("finish"):
                    self.finishing = True
                if "shared" in msg:
                    self._shared.put(msg["shared"])
        except socket.timeout:
            if not self.finishing:
                _stop(f"{self.name}: the scheduler's watch at {host}:{port} went silent for "
                      f"{self.timeout / 2:g} s (the scheduler's machine is gone or cut off): "
                      + RESTART)
            return
        except OSError:
            pass
        if not self.finishing:
            _stop(f"{self.name}: the scheduler on {host} closed the watch connection (the "
                  "scheduler died or its machine went away): " + RESTART)

    def _ping(self):
        while not self.finishing:
            if not _send(self.sock, self.lock, {"steps": self.steps}):
                return
            time.sleep(self.interval)


def watch_worker(environ=None):
    """Start this worker's watch (call it before creating the kvstore); None when not distributed.

    Returns
    -------
    Watch or None
        Call ``.step()`` per training step, ``.saved(epoch, path)`` after a checkpoint,
        ``.trained()`` when training is over and ``.bye()`` before the process ends.
    """
    env = os.environ if environ is None else environ
    if env.get("DMLC_ROLE") != "worker":
        return None
    return Watch(role_name(env), "worker", service_address(env), dist_timeout(env)).connect()


def run_worker(main):
    """Run a worker's ``main()``; on an error, print it and exit at once with status 1.

    A worker that fails normally would, at exit, wait in MXNet's last kvstore barrier for the
    others, who wait for its gradients: it would never exit. Leaving with ``os._exit`` drops its
    connections, the watch sees it, and every role stops with a message naming this worker.
    """
    try:
        return main()
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001  (KeyboardInterrupt too: the same exit-barrier hang)
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(1)


class Counted:
    """``loader`` with each batch it yields counted on ``watch`` (the service's progress check)."""

    def __init__(self, loader, watch=None):
        self.loader, self.watch = loader, watch

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            yield batch
            if self.watch is not None:
                self.watch.step()


# ------------------------------------------------------------------------------------------------
# python -m course_utils.admin.watchdog: the scheduler's and the servers' runner
# ------------------------------------------------------------------------------------------------

def main(environ=None):
    """Run this process's MXNet role (scheduler or server) under the watch; returns the status."""
    env = os.environ if environ is None else environ
    role = env.get("DMLC_ROLE")
    if role not in ("scheduler", "server"):
        print(f"python -m course_utils.admin.watchdog runs a scheduler or a server, but DMLC_ROLE="
              f"{role!r}: set DMLC_ROLE=scheduler or DMLC_ROLE=server (workers run their "
              "training script)", file=sys.stderr)
        return 2
    try:
        timeout = dist_timeout(env)
        address = service_address(env)
        if role == "scheduler":
            watch = WatchService(address[0], address[1], int(env.get("DMLC_NUM_WORKER", 1)),
                                 int(env.get("DMLC_NUM_SERVER", 1)), timeout).start()
        else:
            watch = Watch(role_name(env), "server", address, timeout).connect()
    except WatchError as err:
        print(f"[watchdog] {err}", file=sys.stderr)
        return 2
    try:
        import mxnet  # noqa: F401  (with DMLC_ROLE set, the import runs the role's loop)
    except SystemExit as done:  # MXNet ends the loop with sys.exit()
        if done.code not in (None, 0):
            raise
    if role == "scheduler":
        watch.finish()
    else:
        watch.bye()
    return 0


if __name__ == "__main__":
    sys.exit(main())
