"""Choose where to compute: a usable GPU if there is one, else the CPU, with the reason why.

MXNet 1.9.1's GPU wheels (``mxnet-cu112``, ``mxnet-cu117``) carry kernels for compute
capability 5.0 to 8.9 (Maxwell to Ada: T4, V100, A100, RTX 20/30/40) and no PTX, so they do not
run on Hopper (H100, H200) or newer. The CPU wheel (``mxnet``) has no CUDA at all.
"""
import shutil
import subprocess

import course_utils.config  # noqa: F401  (sets MXNET_HOME and threads before mxnet)
from course_utils import _util
import mxnet as mx

#: compute capabilities the MXNet 1.9.1 CUDA wheels have kernels for (inclusive)
MIN_CAPABILITY = (5, 0)
MAX_CAPABILITY = (8, 9)


def nvidia_gpus(timeout=10):
    """GPUs the NVIDIA driver reports, as a list of ``(name, (major, minor))``; [] if none.

    Uses ``nvidia-smi``; never raises (no driver, no GPU, or a hung driver give []).
    """
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,compute_cap", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=timeout, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        name, _, cap = line.rpartition(",")
        try:
            major, minor = (int(v) for v in cap.strip().split("."))
        except ValueError:
            continue
        gpus.append((name.strip(), (major, minor)))
    return gpus


def capability_supported(capability):
    """True if MXNet 1.9.1's CUDA wheels have kernels for this ``(major, minor)`` capability."""
    return MIN_CAPABILITY <= tuple(capability) <= MAX_CAPABILITY


def _mxnet_gpu_count():
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:
        return 0


def _gpu_works(i):
    try:
        x = mx.nd.ones((2, 2), ctx=mx.gpu(i))
        (x * 2).asnumpy()
        return True
    except mx.base.MXNetError:
        return False


_CACHE = {}


def diagnose():
    """Return ``(usable GPU contexts, one-line reason)``. The answer is cached per process."""
    if "result" in _CACHE:
        return _CACHE["result"]
    hardware = nvidia_gpus()
    count = _mxnet_gpu_count()
    if count == 0:
        if hardware:
            names = ", ".join(f"{n} (compute capability {c[0]}.{c[1]})" for n, c in hardware)
            reason = (f"CPU: GPU found ({names}) but this MXNet build has no CUDA; "
                      "install mxnet-cu112 or mxnet-cu117 instead of mxnet (see README)")
        else:
            reason = "CPU: no GPU found"
        result = ([], reason)
    else:
        usable, refused = [], []
        for i in range(count):
            cap = hardware[i][1] if i < len(hardware) else None
            name = hardware[i][0] if i < len(hardware) else f"gpu({i})"
            if cap is not None and not capability_supported(cap):
                refused.append(f"{name} is compute capability {cap[0]}.{cap[1]}")
            elif _gpu_works(i):
                usable.append(mx.gpu(i))
            else:
                refused.append(f"{name} failed a test computation")
        if usable:
            names = ", ".join(hardware[c.device_id][0] if c.device_id < len(hardware)
                              else str(c) for c in usable)
            reason = f"GPU: {len(usable)} usable ({names})"
        else:
            reason = ("CPU: GPU found but this MXNet build has no kernels for it ("
                      + "; ".join(refused) + "; MXNet 1.9.1 wheels cover 5.0 to 8.9, not Hopper)")
        result = (usable, reason)
    _CACHE["result"] = result
    return result


def usable_gpus():
    """List of ``mx.gpu(i)`` contexts that can really compute; [] on a CPU-only machine."""
    return diagnose()[0]


def reason():
    """One line: which device the course uses and why."""
    return diagnose()[1]


def choose():
    """The device to train on: the first usable GPU, else ``mx.cpu()``."""
    gpus = usable_gpus()
    return gpus[0] if gpus else mx.cpu()


def choose_all():
    """All usable GPUs for data parallelism, else ``[mx.cpu()]``."""
    return usable_gpus() or [mx.cpu()]


def cpu_devices(n=2):
    """``n`` CPU "devices" (``mx.cpu(0)`` ... ``mx.cpu(n-1)``) to rehearse multi-GPU code on a CPU.

    They share the same processor, so they show how data parallelism works, not a speed-up.
    """
    _util.positive_int(n, "n", example="cpu_devices(2)")
    return [mx.cpu(i) for i in range(n)]
