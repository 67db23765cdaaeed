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
import os
import queue
import socket
import sys
import threading
import time

# the settings and the service live beside this module; their names are used from here too
from course_utils.admin.watch_protocol import (  # noqa: F401
    DEFAULT_TIMEOUT, LOST_STATUS, NAME_VAR, PORT_VAR, RESTART, START_FACTOR, TIMEOUT_VAR,
    WatchError, _lines, _say, _send, _stop, dist_timeout, role_name, service_address)
from course_utils.admin.watch_service import WatchService  # noqa: F401


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
