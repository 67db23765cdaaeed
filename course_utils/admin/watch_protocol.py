"""The watch's settings and wire format, shared by the service and its clients.

Plain TCP, one JSON object per line; see :mod:`course_utils.admin.watchdog` for what the watch
does. Nothing here is encrypted or authenticated, like MXNet's own traffic: a trusted network only.
"""
import json
import os
import sys

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
