"""Spread large batches of work (parsing files, Markdown, page rendering) over cores.

Workers are forked, so they inherit the data and the function (the model, the
Jinja environment) without pickling; only work indices go out and results
come back, a chunk's results as one pickle that a `sink` can keep as it is
(the cache file). The worker-side `_STATE` is set once per forked worker by
the pool's initializer; the parent process never sets it. `in_thread` runs
the parent's own side work meanwhile.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import threading
import time
from collections import deque
from contextlib import contextmanager
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

_STATE: Any = None  # only ever set inside a forked worker

MIN_ITEMS = 400  # below this, forking costs more than it saves
CHUNK = 64


def workers() -> int:
    if not hasattr(os, "fork"):
        return 1
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:
        count = os.cpu_count() or 1
    return max(1, min(count, 8))


def _init(state: Any, parent: int) -> None:
    global _STATE
    _STATE = state
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A worker whose build was killed ends too (within a quarter second): executor
    workers would otherwise wait for work forever, holding their share of the memory."""
    while os.getppid() == parent:
        time.sleep(0.25)
    os._exit(1)


def _pickled(results: list[tuple[int, Any]]) -> bytes:
    return pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)


@dataclass(frozen=True)
class Hooks:
    """Work around each chunk, where its items are done (a worker, or this process):
    `before` gets the chunk's items first, `after` runs once they are all done, before their
    results go back. Doing one kind of work for a whole chunk keeps the caches warm for it:
    a render worker's Markdown bodies, then its pages, then its files (see pipeline)."""
    before: Callable[[list[Any]], None] | None = None
    after: Callable[[], None] | None = None


def _chunk(function: Callable[[Any], Any], items: Sequence[Any], chunk: Sequence[int],
           hooks: Hooks) -> list[tuple[int, Any]]:
    if hooks.before is not None:
        hooks.before([items[i] for i in chunk])
    results = [(i, function(items[i])) for i in chunk]
    if hooks.after is not None:
        hooks.after()
    return results


def _run(chunk: list[int]) -> bytes:
    """A chunk's [(index, result)], pickled here: the executor sends the bytes as they are,
    and the parent can both load them and keep them (see `map_items`)."""
    function, items, hooks = _STATE
    return _pickled(_chunk(function, items, chunk, hooks))


def map_items(function: Callable[[Any], Any], items: Sequence[Any],
              sink: Callable[[bytes], None] | None = None,
              hooks: Hooks = Hooks()) -> Iterator[tuple[int, Any]]:
    """(index, function(item)) for every item, in index order; in parallel when worth it.

    Items go in chunks, with `hooks` around each (see Hooks). `sink`, if given,
    receives every result before it is yielded, in chunks, each a pickle of [(index,
    result)]: a worker's own bytes, which the parent loads anyway, so keeping them (the
    CLI's cache file) costs no second pickling of ~20,000 entries in the parent (in one
    process they are pickled for it). Chunks are handed out as results are taken: they
    never pile up in the parent faster than it uses them (writes files), which kept
    10,000 claims' pages in memory at once."""
    results = _mapped(function, items, sink, hooks, bounded=True)
    next(results)  # (work under way)
    yield from results


@contextmanager
def started(function: Callable[[Any], Any], items: Sequence[Any],
            sink: Callable[[bytes], None] | None = None) -> Iterator[Iterator[tuple[int, Any]]]:
    """`map_items` with all its work handed to the workers on entry: the caller does its
    own work meanwhile, then takes the results (which wait in the parent). Leaving
    before they are all taken drops the chunks not started yet."""
    results = _mapped(function, items, sink, Hooks(), bounded=False)
    next(results)
    try:
        yield results
    finally:
        results.close()


_UNDER_WAY = object()  # what `_mapped` yields first, once its work is handed out


def _mapped(function: Callable[[Any], Any], items: Sequence[Any], sink: Callable[[bytes], None] | None,
            hooks: Hooks, bounded: bool) -> Iterator[Any]:
    n = workers()
    if n < 2 or len(items) < MIN_ITEMS:
        yield _UNDER_WAY  # (in this process, as the results are taken)
        for start in range(0, len(items), CHUNK):
            results = _chunk(function, items, range(start, min(start + CHUNK, len(items))), hooks)
            if sink is not None:
                sink(_pickled(results))
            yield from results
        return
    chunks = [list(range(start, min(start + CHUNK, len(items))))
              for start in range(0, len(items), CHUNK)]
    window = 2 * n if bounded else len(chunks)
    context = multiprocessing.get_context("fork")
    # an executor, not a Pool: if a worker dies (killed, out of memory), waiting for its
    # results raises BrokenProcessPool instead of hanging forever
    with ProcessPoolExecutor(n, mp_context=context, initializer=_init,
                             initargs=((function, items, hooks), os.getpid())) as pool:
        pending: deque = deque()

        def take(future: Future) -> list[tuple[int, Any]]:
            data = future.result()
            if sink is not None:
                sink(data)
            return pickle.loads(data)

        try:
            waiting = iter(chunks)
            for chunk in itertools.islice(waiting, window):
                pending.append(pool.submit(_run, chunk))
            yield _UNDER_WAY
            for chunk in waiting:
                yield from take(pending.popleft())
                pending.append(pool.submit(_run, chunk))
            while pending:
                yield from take(pending.popleft())
        finally:
            for future in pending:  # left early: what has not started is not needed
                future.cancel()


def in_thread(function: Callable[[], Any], name: str) -> Future:
    """function() run in a thread of the parent, for work that can go on while the parent
    mostly waits (on the render workers, or on writing its cache). The future gives the
    result or raises the error."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(function())
        except BaseException as exc:
            future.set_exception(exc)
    threading.Thread(target=run, name=name, daemon=True).start()
    return future
