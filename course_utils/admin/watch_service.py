"""The scheduler's side of the watch: who is connected, who went silent, who is told to stop.

See :mod:`course_utils.admin.watchdog` for the whole picture.
"""
import socket
import threading
import time

from course_utils.admin.watch_protocol import (DEFAULT_TIMEOUT, PORT_VAR, START_FACTOR,
                                               WatchError, _lines, _say, _send, _stop)


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
        self.losses = None  # [(member, why)] once one role is lost: the others seen meanwhile
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
        """Tell every other role that ``member`` is lost, print it, exit with LOST_STATUS.

        A machine that goes away takes all its roles with it, and a server often dies of its
        worker's death a few milliseconds later: the first loss waits ``self.interval`` for the
        others, so the message names every role that was lost (in the order they were noticed),
        not only the one whose thread happened to notice first.
        """
        with self.lock:
            if self.losses is not None:  # another thread is already reporting: add to its list
                if all(m is not member for m, _ in self.losses):
                    self.losses.append((member, why))
                return
            self.losses = [(member, why)]
        time.sleep(self.interval)
        with self.lock:
            losses = list(self.losses)
            gone = [m for m, _ in losses]
            others = [m for m in self.members if all(m is not g for g in gone)]
            text = "; ".join(f"{m} {w}" for m, w in losses)
            text += ": stopping the run. " + _advice(self.checkpoint)
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
