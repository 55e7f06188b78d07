"""Embedding large batches on every core: this process plus worker processes fed over pipes.

The USE encoder's tokenizer is pure Python (it holds the GIL), so threads would share one core; processes
do not. With ``workers=N`` this process encodes on a thread and N-1 workers (``python -m kb.embed_pool SPEC``,
at a lower priority so answering stays responsive) take batches from the same queue. Below PARALLEL_MIN
texts no worker is started: loading the model costs a worker ~1.5 s.

    with EncoderPool("use", embedder, workers=2) as pool:
        vectors = pool.encode(texts, progress=lambda done, total: ...)
"""

from __future__ import annotations

import json
import logging
import os
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from kb.embed import Embedder, get_embedder

logger = logging.getLogger(__name__)
PARALLEL_MIN = 256
BATCH = 64
WORKER_NICE = 5
HEADER = struct.Struct("<II")  # rows, dim of the vectors that follow (float32)
ROOT = Path(__file__).resolve().parents[1]


class WorkerError(RuntimeError):
    pass


class _Worker:
    def __init__(self, spec: str, expect: Embedder):
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PYTHONPATH=path, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "kb.embed_pool", spec], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        line = self.proc.stdout.readline()
        try:
            info = json.loads(line)
        except ValueError:
            info = {}
        if info.get("name") != expect.name or info.get("dim") != expect.dim:
            self.close()
            raise WorkerError(f"worker embedder {info or line!r} is not {expect.name}/{expect.dim}")

    def encode(self, texts: list[str]) -> np.ndarray:
        try:
            self.proc.stdin.write((json.dumps(texts, ensure_ascii=False) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
            head = self.proc.stdout.read(HEADER.size)
            rows, dim = HEADER.unpack(head)
            data = self.proc.stdout.read(rows * dim * 4)
        except (OSError, struct.error) as exc:
            raise WorkerError(f"worker {self.proc.pid} failed: {exc!r}") from exc
        if rows != len(texts) or len(data) != rows * dim * 4:
            raise WorkerError(f"worker {self.proc.pid} returned {rows} rows for {len(texts)} texts")
        return np.frombuffer(data, dtype=np.float32).reshape(rows, dim)

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class EncoderPool:
    def __init__(self, spec: str, embedder: Embedder | None = None, workers: int = 1):
        self.spec = spec
        self.embedder = embedder or get_embedder(spec)
        self.workers = max(1, int(workers))
        self._procs: list[_Worker] | None = None

    def __enter__(self) -> "EncoderPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._procs or []:
            worker.close()
        self._procs = []

    def _start(self) -> list[_Worker]:
        if self._procs is None:
            self._procs = []
            for _ in range(self.workers - 1):
                try:
                    self._procs.append(_Worker(self.spec, self.embedder))
                except (OSError, WorkerError) as exc:
                    logger.warning("embedding worker not started (%s); fewer processes embed", exc)
                    break
        return self._procs

    def encode(self, texts: list[str], progress=None) -> np.ndarray:
        """Vectors for `texts` in order; progress(done, total) after each batch."""
        total = len(texts)
        out = np.zeros((total, self.embedder.dim or 1), dtype=np.float32)
        if not total:
            return out
        procs = self._start() if self.workers > 1 and (total >= PARALLEL_MIN or self._procs) else []
        jobs: queue.Queue = queue.Queue()
        for start in range(0, total, BATCH):
            jobs.put(start)
        done = [0]
        lock = threading.Lock()
        errors: list[BaseException] = []
        failed: list[_Worker] = []

        def run(encode, worker: _Worker | None = None) -> None:
            while not errors:
                try:
                    start = jobs.get_nowait()
                except queue.Empty:
                    return
                batch = texts[start:start + BATCH]
                try:
                    vecs = encode(batch)
                except WorkerError as exc:
                    logger.warning("%s; its batches go to the other processes", exc)
                    jobs.put(start)
                    failed.append(worker)
                    return
                except BaseException as exc:  # the local encoder failing is the caller's error
                    errors.append(exc)
                    return
                out[start:start + len(batch)] = vecs
                with lock:
                    done[0] += len(batch)
                    if progress:
                        progress(done[0], total)

        threads = [threading.Thread(target=run, args=(w.encode, w), daemon=True) for w in procs]
        for t in threads:
            t.start()
        run(self.embedder.encode)
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        for w in failed:
            w.close()
            self._procs.remove(w)
        while not jobs.empty():  # a worker died with batches left: finish them here
            run(self.embedder.encode)
            if errors:
                raise errors[0]
        return out


def worker_main(spec: str) -> int:
    """One worker: load the embedder, say which it is, then encode JSON lines of texts until stdin closes."""
    try:
        os.nice(WORKER_NICE)
    except OSError:
        pass
    logging.basicConfig(level=logging.ERROR)
    embedder = get_embedder(spec)
    out = sys.stdout.buffer
    out.write((json.dumps({"name": embedder.name, "dim": embedder.dim}) + "\n").encode())
    out.flush()
    for line in sys.stdin.buffer:
        texts = json.loads(line)
        vecs = np.ascontiguousarray(embedder.encode(texts), dtype=np.float32)
        out.write(HEADER.pack(vecs.shape[0], vecs.shape[1]))
        out.write(vecs.tobytes())
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1]))
