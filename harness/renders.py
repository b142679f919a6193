"""Rendering the template with copier, cached on disk and shared by every process of a run.

`render(answers)` is the project copier renders for these answers (copier's defaults for the
rest), to read: a test that writes copies it first. Renders are keyed by the template's content, copier's version and the answers, so the
xdist workers of a run (and the next run, while the template is unchanged) share each one:
a combination is rendered once. `render_all(answer sets)` renders the missing ones in
parallel, one process per core; processes that ask for the same render at once split the
work instead of repeating it. Each render's digest is recorded when it is made:
`changed_renders()` names any that a test wrote into since (harness/proof.py reports them).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import multiprocessing
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

from harness import ROOT
from harness.engine import CACHE

TEMPLATE_FILES = ("copier.yml", "questions", "template")


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def tree_digest(root: Path, exclude: frozenset[str] = frozenset()) -> str:
    """Names, bytes and executable bits of every file below root (caches and `exclude`,
    relative paths, left out)."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel in exclude or "__pycache__" in rel or rel.startswith(".venv/"):
            continue
        h.update(f"{rel}\0{path.stat().st_mode & 0o111:o}\0".encode())
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@cache
def template_key() -> str:
    """copier's version and the template's files: a render's key starts here."""
    h = hashlib.sha256(importlib.metadata.version("copier").encode() + b"\0")
    for name in TEMPLATE_FILES:
        source = ROOT / name
        h.update(name.encode() + b"\0")
        h.update((tree_digest(source) if source.is_dir() else digest(source.read_bytes())).encode())
    return h.hexdigest()[:16]


def _root() -> Path:
    return CACHE / "renders" / template_key()


@cache
def snapshot() -> Path:
    """copier.yml and template/ as they are in the working tree, outside git (copier renders a
    plain folder as it is; a git checkout would be rendered at its last commit)."""
    final = _root() / "template"
    if not final.is_dir():
        _forget_old_templates()
        final.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="template.", dir=final.parent))
        for name in TEMPLATE_FILES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, work / name)
        with contextlib.suppress(OSError):  # another process was first: same content
            work.rename(final)
        shutil.rmtree(work, ignore_errors=True)
    return final


def _forget_old_templates(keep_seconds: float = 3600) -> None:
    """Renders of earlier template versions, unused for an hour, are only disk space."""
    for other in (CACHE / "renders").glob("*"):
        if other != _root() and time.time() - other.stat().st_mtime > keep_seconds:
            shutil.rmtree(other, ignore_errors=True)


def _key(answers: dict) -> str:
    return digest(repr(sorted(answers.items())))


def _path(answers: dict) -> Path:
    return _root() / "projects" / _key(answers) / "project"


def render(answers: dict) -> Path:
    """The project for these answers, rendered now or earlier by any process."""
    _render(answers, wait=True)
    return _path(answers)


def _render(answers: dict, wait: bool) -> bool:
    """Render unless done; False when another process holds the render and wait is False."""
    final = _path(answers)
    if final.is_dir():
        return True
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / "lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        if final.is_dir():  # rendered while this process waited
            return True
        import copier

        work = Path(tempfile.mkdtemp(prefix="render.", dir=final.parent))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "dirty template" and similar notes
                copier.run_copy(str(snapshot()), str(work), data=answers, defaults=True, quiet=True)
            (final.parent / "digest").write_text(tree_digest(work))
            work.rename(final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return True


def changed_renders() -> list[Path]:
    """Renders of this template whose files differ from what copier wrote."""
    changed = []
    for recorded in sorted((_root() / "projects").glob("*/digest")):
        project = recorded.parent / "project"
        if project.is_dir() and tree_digest(project) != recorded.read_text():
            changed.append(project)
    return changed


def answers_of(project: Path) -> dict:
    """What a rendered project's .copier-answers.yml records."""
    import yaml

    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def _render_if_free(answers: dict) -> bool:
    return _render(answers, wait=False)


def render_all(answer_sets: Iterable[dict]) -> list[Path]:
    """render() for each, the missing ones in parallel (spawned processes: pytest-xdist
    workers run threads, which a fork would copy mid-flight)."""
    answer_sets = list(answer_sets)
    missing = [a for a in answer_sets if not _path(a).is_dir()]
    if len(missing) > 1:
        snapshot()
        # Start where other processes of this run are unlikely to be (they go in pid order).
        shift = os.getpid() % len(missing)
        missing = missing[shift:] + missing[:shift]
        workers = min(len(missing), os.cpu_count() or 1)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_render_if_free, missing, chunksize=4))
    return [render(answers) for answers in answer_sets]  # waits for any held elsewhere
