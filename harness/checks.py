"""Results of deterministic checks, keyed by the content they were computed from.

A check that every combination must pass (hadolint on a Dockerfile, `docker compose config`
on a compose file, a layer scan of an image) gives the same verdict on the same bytes, so it
runs once per distinct input in the whole run: the workers share the results through files
(the first to ask computes, under a lock; the others read).
"""

from __future__ import annotations

import fcntl
import pickle
from collections.abc import Callable
from pathlib import Path


class ContentCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._results: dict[tuple[str, str], object] = {}

    def get(self, kind: str, key: str, compute: Callable[[], object]):
        """The result of compute() for this kind of check on content with this key."""
        if (kind, key) not in self._results:
            path = self.root / kind / key
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if path.exists():
                    result = pickle.loads(path.read_bytes())
                else:
                    result = compute()
                    path.write_bytes(pickle.dumps(result))
            self._results[kind, key] = result
        return self._results[kind, key]
