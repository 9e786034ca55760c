"""Scoring items in worker processes: each worker builds the per-item scorers once (models load
once per worker) and runs single-threaded, so ``workers`` processes use ``workers`` cores.

Workers are started with the ``spawn`` method (no state of the parent, whose torch and
onnxruntime thread pools are not fork-safe, is inherited). Results come back in job order.
"""

from __future__ import annotations

import multiprocessing
from typing import Any, Iterator, Sequence

from audiogen.eval.scoring import Job, score_item

_SCORERS: list[Any] = []


def _start(names: Sequence[str], options: dict[str, Any]) -> None:
    import torch

    from audiogen.eval import registry

    torch.set_num_threads(1)
    options = {**options, **{key: 1 for key in _thread_options(names, options)}}
    _SCORERS[:] = registry.build(registry.resolve(names), options)


def _thread_options(names: Sequence[str], options: dict[str, Any]) -> list[str]:
    """``<group>_threads`` options of the requested groups that support one and are unset."""
    from audiogen.eval import registry

    valid = {name for names_ in registry.option_names().values() for name in names_}
    groups = {registry.METRICS[name].group for name in names}
    return [f"{group}_threads" for group in groups
            if f"{group}_threads" in valid and f"{group}_threads" not in options]


def _score(group: Sequence[Job]) -> list[dict[str, Any]]:
    return [score_item(*job, _SCORERS) for job in group]


class ItemPool:
    """A context manager around a process pool; ``parallel`` is False for ``workers`` <= 1
    (or nothing to score per item), and then no process is started."""

    def __init__(self, workers: int, names: Sequence[str], options: dict[str, Any]) -> None:
        self.parallel = workers > 1 and bool(names)
        from audiogen.eval import registry

        groups = {registry.METRICS[name].group for name in names}
        self.workers, self.names = workers, list(names)
        self.options = {key: value for key, value in options.items()
                        if any(key.startswith(f"{group}_") for group in groups)}
        self._pool: Any = None

    def __enter__(self) -> ItemPool:
        if self.parallel:
            context = multiprocessing.get_context("spawn")
            self._pool = context.Pool(self.workers, initializer=_start,
                                      initargs=(self.names, self.options))
        return self

    def map(self, groups: Sequence[Sequence[Job]]) -> Iterator[list[dict[str, Any]]]:
        """Rows of each group of jobs (system, pair, with_reference, previous row), in order;
        a group is scored by one worker."""
        return self._pool.imap(_score, groups, chunksize=1)

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
