"""Reading a legacy (non-zip) PyTorch checkpoint without torch, and without trusting it.

A legacy ``.pth`` file is a sequence of pickles, and a pickle may name any global (``os.system``)
to be called while it loads. :func:`load_torch_state_dict` reads one through a restricted
unpickler that allows only what a file of weights needs (``collections.OrderedDict``, torch's
tensor rebuilder, the storage types), rebuilds each tensor as a NumPy array, and refuses every
other global *before* it is looked up, so nothing in the file is ever executed. Tensors are
checked against their storage before anything is allocated (a 300-byte file cannot ask for
gigabytes). No torch and no MXNet here: NumPy and the standard library only.
"""
import collections
import os
import pickle
from pathlib import Path

import numpy as np

__all__ = ["CheckpointError", "UnsafeCheckpointError", "load_torch_state_dict"]


class CheckpointError(ValueError):
    """A checkpoint file is missing, damaged, or not in the format this reader handles."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint's pickle asks for a global outside the allow-list; nothing was executed."""


_TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
_TORCH_PROTOCOL = 1001  # torch.serialization.PROTOCOL_VERSION
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _StorageType(str):
    """Marker standing in for ``torch.FloatStorage`` etc.: just the name, immutable."""

    __slots__ = ()


class _StorageRef(str):
    """Marker for one storage (the value is its key), immutable."""

    __slots__ = ()


# what torch._utils._rebuild_tensor_v2 received; materialised once the raw data has been read
_TensorRef = collections.namedtuple("_TensorRef", "key offset size stride")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickle one of the pickles in a legacy torch file, allowing only the globals it needs.

    ``collections.OrderedDict``; ``torch._utils._rebuild_tensor_v2`` (mapped to
    :meth:`_rebuild_tensor`, which records where a tensor lives and executes nothing); the torch
    storage types (mapped to :class:`_StorageType` markers). Any other global raises
    :class:`UnsafeCheckpointError` before it is looked up, so it can never be called.
    """

    def __init__(self, file, path, storages, max_bytes):
        super().__init__(file)
        self.path = path
        self.storages = storages  # key -> (dtype, numel), shared by the pickles of one file
        self.max_bytes = max_bytes

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return self._rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsafeCheckpointError(
            f"{self.path}: the checkpoint's pickle asks for the global '{module}.{name}', which "
            "a file of weights never needs, so it was refused and nothing was executed. The file "
            "is not a plain weights file (it may be malicious): delete it and get the weights "
            "from a source you trust."
        )

    def persistent_load(self, pid):
        # legacy torch: ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise CheckpointError(f"{self.path}: unexpected persistent id {pid!r:.80} "
                                  "(expected ('storage', type, key, location, numel))")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"{self.path}: storage {key!r} has no torch storage type")
        if len(pid) == 6 and pid[5] is not None:
            raise CheckpointError(f"{self.path}: storage views (torch < 0.4 files) are not "
                                  "supported; re-save the state dict with a newer torch")
        if not isinstance(key, str) or not _is_int(numel) or numel < 0:
            raise CheckpointError(f"{self.path}: malformed storage record {pid!r:.80}")
        dtype = np.dtype(_STORAGE_DTYPES[str(storage_type)])
        if numel * dtype.itemsize > self.max_bytes:
            raise CheckpointError(f"{self.path}: storage {key!r} claims {numel} elements, more "
                                  "than the whole file holds: the file is truncated or damaged")
        known = self.storages.setdefault(key, (dtype, numel))
        if known != (dtype, numel):
            raise CheckpointError(f"{self.path}: storage {key!r} is declared twice, differently")
        return _StorageRef(key)

    def _rebuild_tensor(self, storage, storage_offset, size, stride, *_requires_grad_hooks):
        """Record a tensor as (storage key, offset, size, stride); checked, nothing allocated."""
        if not isinstance(storage, _StorageRef):
            raise CheckpointError(f"{self.path}: a tensor refers to no storage")
        size, stride = tuple(size), tuple(stride)
        if not (_is_int(storage_offset) and storage_offset >= 0 and len(size) == len(stride)
                and all(_is_int(n) and n >= 0 for n in size + stride)):
            raise CheckpointError(f"{self.path}: malformed tensor record (offset "
                                  f"{storage_offset!r}, size {size!r}, stride {stride!r})")
        _dtype, numel = self.storages[str(storage)]
        elements = int(np.prod(size, dtype=object))  # Python ints: no overflow
        if elements > numel or any(s == 0 and n > 1 for n, s in zip(size, stride)):
            # a state dict's tensors own their data: more elements than the storage holds, or a
            # stride of 0 (one number repeated), is a tiny file asking for a huge allocation
            raise CheckpointError(
                f"{self.path}: a tensor of size {size} (stride {stride}, {elements:,} elements) "
                f"is built from a storage of {numel:,} elements; a file of weights never repeats "
                "its data this way, so it was refused before anything was allocated. The file is "
                "damaged or hostile: delete it and get the weights from a source you trust.")
        if all(size):  # a tensor with a zero dimension reads nothing
            last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= numel:
                raise CheckpointError(f"{self.path}: a tensor of size {size} reaches element "
                                      f"{last} of a storage of {numel}: the file is damaged")
        return _TensorRef(str(storage), storage_offset, size, stride)


def load_torch_state_dict(path):
    """Read a legacy (non-zip) PyTorch ``state_dict`` file into NumPy arrays, without torch.

    The legacy format is a sequence of pickles: the magic number, the protocol version (1001),
    a system-info dict, the state dict itself (tensors arrive as
    ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` with persistent ids
    ``('storage', torch.FloatStorage, key, location, numel)``), the list of storage keys; then,
    for each key, an int64 element count and the raw little-endian data.

    Parameters
    ----------
    path : str or Path
        The ``.pth`` file.

    Returns
    -------
    collections.OrderedDict
        Tensor name -> ``np.ndarray`` (a C-contiguous copy, e.g. float32 ``(32, 3, 3, 3)`` for
        ``_conv_stem.weight``), in the file's order.

    Raises
    ------
    UnsafeCheckpointError
        The pickle names a global other than ``collections.OrderedDict``,
        ``torch._utils._rebuild_tensor_v2`` or a torch storage type (e.g. ``os.system``).
        Raised before that global is looked up: nothing is executed.
    CheckpointError
        The file is truncated, damaged, or in torch's newer zip format.
    """
    path = Path(path)
    storages = {}
    with open(path, "rb") as f:
        max_bytes = os.fstat(f.fileno()).st_size
        if f.read(2) == b"PK":
            raise CheckpointError(
                f"{path} is in torch's zip format; this reader handles the legacy format only. "
                "Re-save it where torch is installed: torch.save(state_dict, path, "
                "_use_new_zipfile_serialization=False)"
            )
        f.seek(0)

        def unpickle():
            return _RestrictedUnpickler(f, path, storages, max_bytes).load()

        try:
            magic, protocol, sys_info = unpickle(), unpickle(), unpickle()
            if magic != _TORCH_MAGIC or protocol != _TORCH_PROTOCOL:
                raise CheckpointError(f"{path} is not a legacy PyTorch checkpoint (magic number "
                                      f"{magic!r:.40}, protocol {protocol!r:.40})")
            state = unpickle()
            keys = unpickle()
        except CheckpointError:  # including UnsafeCheckpointError: already clear
            raise
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError,
                IndexError, KeyError, MemoryError) as err:
            raise CheckpointError(
                f"{path} is truncated or damaged: its pickle could not be read "
                f"({type(err).__name__}: {err}). Delete it and get a fresh copy."
            ) from err
        if not isinstance(state, dict) or not all(
                isinstance(k, str) and isinstance(v, _TensorRef) for k, v in state.items()):
            raise CheckpointError(f"{path} holds no state dict of tensors")
        if not isinstance(keys, list) or sorted(keys) != sorted(storages):
            raise CheckpointError(f"{path}: the storage key list does not match the tensors")
        little_endian = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)

        data = {}
        for key in keys:
            dtype, numel = storages[key]
            header = f.read(8)
            array = np.empty(numel, dtype=dtype)
            got = f.readinto(memoryview(array).cast("B")) if numel and len(header) == 8 else 0
            if len(header) != 8 or got != array.nbytes:
                raise CheckpointError(
                    f"{path} is truncated: it ends inside the data of storage {key!r} "
                    f"({got} of {array.nbytes} bytes). Delete it and get a fresh copy."
                )
            count = int.from_bytes(header, "little" if little_endian else "big", signed=True)
            if count != numel:
                raise CheckpointError(f"{path}: storage {key!r} holds {count} elements, "
                                      f"the pickle said {numel}: the file is damaged")
            if not little_endian:
                array.byteswap(inplace=True)
            data[key] = array

    tensors = collections.OrderedDict()
    for name, ref in state.items():
        flat = data[ref.key]
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[ref.offset:], shape=ref.size, strides=[s * itemsize for s in ref.stride],
            writeable=False,
        )
        tensors[name] = np.array(view, order="C", copy=True)  # a copy: never alias the storage
    return tensors
