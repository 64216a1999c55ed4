"""Passages embedded by worker processes, one single-threaded model in each.

Measured on 2 cores (MiniLM, 1,458 chunks): one process with 2 threads took 46 s alone and
97 s beside a busy loader; two single-threaded processes took 44 s and 67 s. A thread pool
inside one process waits at every operator for its slowest thread, and a Python loader
holds the GIL the embedder's own Python needs between operators.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

import numpy as np

from assistant.embedders import load_embedder
from assistant.embedders.base import Embedder

_worker_embedder: Embedder | None = None


def _start_worker(spec: str, parent: int) -> None:
    global _worker_embedder
    # Ctrl-C reaches the whole process group: the parent decides, the workers just stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"  # before the model's libraries load
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    # A parent killed outright (SIGKILL, out of memory) cannot shut the pool down: a worker
    # that finds itself orphaned exits instead of holding its model's memory for ever.
    # `parent` comes from the parent itself: for a parent killed while this worker was still
    # importing, os.getppid() already names the reaper, and the worker would never exit (the
    # likely cause of 3 failures of the orphan test in 24 runs).
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _worker_embedder = load_embedder(spec)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _embed(texts: list[str]) -> np.ndarray:
    assert _worker_embedder is not None, "worker started without its embedder"
    return _worker_embedder.embed_passages(texts)


class EmbeddingPool:
    """Embeds batches in order across `workers` processes; a worker that dies (killed, out
    of memory) hands the rest of the work to this process."""

    def __init__(self, spec: str, workers: int) -> None:
        self.spec = spec
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),  # no fork of a process holding Chroma's threads
            initializer=_start_worker,
            initargs=(spec, os.getpid()),
        )
        # Of an executor given up on: its manager thread and its workers, not yet joined.
        self._abandoned: tuple[threading.Thread | None, dict] | None = None

    def submit(self, batches: Sequence[Sequence[str]]) -> list[Future[np.ndarray] | None]:
        """Queue every batch now (a document as soon as it is parsed, while the one before
        is still being stored); `results` collects them."""
        return [self._submit(list(batch)) for batch in batches]

    def results(
        self, batches: Sequence[Sequence[str]], futures: Sequence[Future[np.ndarray] | None]
    ) -> Iterator[np.ndarray]:
        """One matrix per batch, in the batches' order."""
        for batch, future in zip(batches, futures, strict=True):
            yield self._result(list(batch), future)

    def embed_batches(self, batches: Sequence[Sequence[str]]) -> Iterator[np.ndarray]:
        return self.results(batches, self.submit(batches))

    def _submit(self, texts: list[str]) -> Future[np.ndarray] | None:
        if self._executor is None:
            return None
        try:
            return self._executor.submit(_embed, texts)
        except (BrokenProcessPool, RuntimeError, OSError, ValueError):
            # OSError ("handle is closed") or ValueError ("bad value(s) in fds_to_keep"):
            # the executor spawning a replacement for a worker that just died, with that
            # worker's pipe already closed, before it knows the pool is broken.
            self._give_up()
            return None

    def _result(self, texts: list[str], future: Future[np.ndarray] | None) -> np.ndarray:
        if future is not None:
            try:
                return future.result()
            except (BrokenProcessPool, CancelledError):  # cancelled: the pool gave up before
                self._give_up()
        # The same cached model the ingesting process already holds for counting tokens.
        return load_embedder(self.spec).embed_passages(texts)

    def _give_up(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            # No waiting here: this process embeds the rest at once. `close` stops the workers
            # left. Taken before shutdown(), which drops the executor's references to them;
            # private attributes: the executor has no public way to reach its processes.
            self._abandoned = (executor._executor_manager_thread, executor._processes or {})
            executor.shutdown(wait=False, cancel_futures=True)

    @property
    def alive(self) -> bool:
        return self._executor is not None

    def close(self) -> None:
        healthy, abandoned = self._executor, self._abandoned
        self._executor = self._abandoned = None
        if healthy is not None:
            healthy.shutdown(wait=True, cancel_futures=True)
        if abandoned is not None:
            _stop_workers(*abandoned)

    def __enter__(self) -> EmbeddingPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stop_workers(manager: threading.Thread | None, workers: dict, timeout: float = 30.0) -> None:
    """Stop the workers of an executor whose worker died. A worker killed while it held the
    task queue's lock leaves that lock taken, and a replacement the executor spawned waits
    on it for ever: so did the executor's manager thread joining it, and the interpreter's
    exit after it (2 runs of 14 of the pool tests). Terminate the workers until the manager
    is done, then reap any it never knew (spawned by a submit racing the breakage)."""
    deadline = time.monotonic() + timeout
    while True:
        for process in list(workers.values()):
            if process.is_alive():
                process.terminate()
        if manager is None or not manager.is_alive() or time.monotonic() > deadline:
            break
        manager.join(0.2)
    for process in list(workers.values()):
        process.join(timeout=5)
