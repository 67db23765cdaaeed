"""The doctor (``python -m course_utils doctor`` or ``course_utils.doctor()``): can this machine run the course, and if not, what to do?

Each check is a line: ``[ok]``, ``[warn]`` (the course runs, with a limitation) or ``[FAIL]``
(it cannot run until fixed; the line says how). Importing this module does not import MXNet,
so the doctor still works when MXNet itself is broken.
"""
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
import tempfile
from dataclasses import dataclass

from course_utils import config

SUPPORTED_PYTHON = ((3, 8), (3, 12))

@dataclass
class Check:
    """One line of the doctor's report."""
    name: str
    status: str  # "ok", "warn" or "FAIL"
    detail: str

    def __str__(self):
        return f"[{self.status}] {self.name}: {self.detail}"


class Report:
    """All checks; ``ok`` is True when nothing failed."""

    def __init__(self, checks):
        self.checks = list(checks)

    @property
    def ok(self):
        return all(c.status != "FAIL" for c in self.checks)

    def __getitem__(self, name):
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def __str__(self):
        verdict = "the course can run here" if self.ok else "the course cannot run here yet: fix the FAIL lines"
        return "\n".join([str(c) for c in self.checks] + [f"=> {verdict}"])

    __repr__ = __str__


def check_python(version=None):
    version = tuple(version or sys.version_info[:3])
    text = ".".join(map(str, version))
    lo, hi = SUPPORTED_PYTHON
    if lo <= version[:2] <= hi:
        return Check("python", "ok", f"{text} (3.8 to 3.12 supported)")
    if version[:2] > hi:
        return Check("python", "FAIL",
                     f"{text}: Python 3.13 and newer have only numpy 2 wheels, and MXNet 1.9.1 (its "
                     "last release) fails under numpy 2. Install Python 3.12 or 3.11 (e.g. 'conda "
                     "create -n course python=3.11', 'uv python install 3.12' or your system's "
                     "python3.12 package) and create the environment with it.")
    return Check("python", "FAIL", f"{text}: too old; the course needs Python 3.8 to 3.12. "
                 "Install Python 3.11 or 3.12 and create the environment with it.")


def check_numpy(version=None):
    if version is None:
        try:
            import numpy
        except ImportError:
            return Check("numpy", "FAIL", "not installed: run pip install -e '.[test]' in the "
                         "course folder")
        version = numpy.__version__
    major, minor = (int(v) for v in version.split(".")[:2])
    if (major, minor) < (1, 24):
        return Check("numpy", "ok", f"{version} (< 1.24, as MXNet 1.9.1 needs)")
    if major < 2:
        return Check("numpy", "ok", f"{version} (MXNet 1.9.1 reads aliases numpy 1.24 removed; "
                     "course_utils puts them back)")
    wanted = "numpy==1.26.4" if sys.version_info[:2] >= (3, 12) else "numpy<1.24"
    return Check("numpy", "FAIL", f"MXNet 1.9.1 fails under numpy 2; you have {version}. "
                 f"Run: pip install '{wanted}'")


def check_torch():
    if importlib.util.find_spec("torch") is None:
        return Check("torch", "ok", "not installed (the course does not need it)")
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        version = getattr(sys.modules.get("torch"), "__version__", "a torch without version metadata")
    if version.split(".")[0] in ("0", "1"):
        return Check("torch", "ok", f"{version} found (GluonCV 0.10.5 accepts torch 1.4 to 1.x)")
    return Check("torch", "ok", f"{version} found and tolerated: GluonCV 0.10.5 refuses torch 2.x, so "
                 "course_utils hides torch while gluoncv imports; torch still works after")


def check_module(name, wanted=None):
    try:
        module = importlib.import_module(name)
    except Exception as err:  # noqa: BLE001  (any import failure is the finding we report)
        return Check(name, "FAIL", f"cannot be imported ({type(err).__name__}: {err}). "
                     "Run: pip install -e '.[test]' in the course folder")
    version = getattr(module, "__version__", "?")
    if wanted and version != wanted:
        return Check(name, "warn", f"{version}; the course is tested with {wanted}")
    return Check(name, "ok", version)


def check_gpu():
    try:
        from course_utils import device
    except Exception as err:  # noqa: BLE001
        return Check("device", "FAIL", f"cannot check devices: {err}")
    hardware = device.nvidia_gpus()
    detail = device.reason()
    if hardware:
        caps = ", ".join(f"{n}: compute capability {c[0]}.{c[1]}" for n, c in hardware)
        detail += f" [{caps}]"
    status = "warn" if hardware and not device.usable_gpus() else "ok"
    return Check("device", status, detail)


def _reachable(url, timeout=3.0):
    """True when the host of ``url`` accepts a connection within ``timeout`` seconds."""
    import socket
    from urllib.parse import urlparse

    try:
        with socket.create_connection((urlparse(url).hostname, 443), timeout=timeout):
            return True
    except OSError:
        return False


def check_data():
    try:
        from course_utils import data
    except Exception as err:  # noqa: BLE001
        return [Check("data", "FAIL", f"cannot load course_utils.data: {err}")]
    checks = []
    online = None
    for name, where in data.sources().items():
        status = "FAIL" if where.startswith(("MISSING", "DAMAGED")) else "ok"
        if "will try to download" in where:  # what the full profile needs is not cached
            online = _reachable(data.DOWNLOAD_URL) if online is None else online
            status = "warn" if online else "FAIL"
            where = ("not cached; it will be downloaded on first use" if online else
                     "not cached and the download server cannot be reached (offline?): run "
                     "python -m course_utils prepare where there is internet, or use "
                     "COURSE_PROFILE=default")
        checks.append(Check(f"data {name}", status, where))
    return checks


def check_weights():
    """The cached weights, each verified: zoo files by their SHA-1, the Lite0 source by SHA-256,
    the converted Lite0 ``.params`` by the SHA-256 recorded when it was converted."""
    folder = config.MXNET_HOME / "models"
    files = sorted(folder.glob("*.params")) if folder.is_dir() else []
    if not files:
        return Check("weights", "warn", "no pretrained weights cached yet; notebooks 10 and 13 "
                     "convert them on first use, or run: python -m course_utils prepare")
    try:
        from gluoncv.model_zoo import model_store
        from gluoncv.utils import check_sha1
        from course_utils import pretrained
    except Exception as err:  # noqa: BLE001
        return Check("weights", "FAIL", f"cannot verify the cached weights: {err}")
    known = {f"{n}-{h[:8]}.params": h for n, h in model_store._model_sha1.items()}  # name: SHA-1
    bad = [p.name for p in files if p.name in known and not check_sha1(str(p), known[p.name])]
    for checkpoint in sorted(folder.glob("efficientnet-lite0-*.pth")):
        try:
            pretrained.verify_checkpoint(checkpoint)
        except pretrained.CheckpointError:
            bad.append(checkpoint.name)
    unrecorded = []
    for converted in folder.glob(pretrained.PARAMS_NAME):
        try:
            if not pretrained.verify_converted(converted):
                unrecorded.append(converted.name)
        except pretrained.CheckpointError:
            bad.append(converted.name)
    if bad:
        return Check("weights", "FAIL", f"damaged cached file(s) in {folder}: {', '.join(bad)} "
                     "(checksum differs). Delete them and run: python -m course_utils prepare")
    if unrecorded:
        return Check("weights", "warn", f"{folder / unrecorded[0]} has no recorded checksum "
                     "(converted by an older version of the course), so it cannot be verified; "
                     "it is converted again on first use, or run: python -m course_utils prepare")
    return Check("weights", "ok", f"{len(files)} cached in $MXNET_HOME/models, checksums "
                 f"verified where known: {', '.join(p.name for p in files)}")


def check_profile():
    """The profile and thread count from the environment, with a message if they are invalid."""
    try:
        chosen = config.profile() if os.environ.get("COURSE_PROFILE", "").strip() else "automatic"
    except ValueError as err:
        return Check("profile", "FAIL", str(err))
    threads = os.environ.get("COURSE_THREADS")
    if threads and config.parse_threads(threads) is None:
        return Check("profile", "FAIL", f"COURSE_THREADS is {threads!r}; expected a whole number "
                     f">= 1, e.g. export COURSE_THREADS=2 (now using {config.THREADS})")
    return Check("profile", "ok", f"{chosen}; {config.THREADS} CPU threads; {platform.machine()}")


def check_cache():
    home = config.MXNET_HOME
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home):
            pass
    except OSError as err:
        return Check("cache", "FAIL", f"{home} is not writable ({err}). Set MXNET_HOME to a "
                     "writable folder before starting Jupyter, e.g. export MXNET_HOME=$PWD/.mxnet")
    return Check("cache", "ok", f"$MXNET_HOME is writable ({'set' if 'MXNET_HOME' in os.environ else 'default'})")


def run(verbose=True):
    """Run every check; print the report when ``verbose``; return the :class:`Report`."""
    checks = [check_python(), check_numpy(), check_torch(),
              check_module("mxnet", "1.9.1"), check_module("gluoncv")]
    profile = check_profile()
    if all(c.status != "FAIL" for c in checks) and profile.status != "FAIL":
        checks.append(check_gpu())
        checks.extend(check_data())
    checks += [check_weights(), check_cache(), profile]
    report = Report(checks)
    if verbose:
        print(report)
    return report
