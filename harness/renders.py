"""Rendering the template with copier, cached on disk and shared by every process of a run.

`render(answers)` is the project copier renders for these answers (copier's defaults for the
rest) from the working tree, to read: a test that writes copies it first. Renders are keyed by
their source and the answers; a source's key holds the versions of copier, jinja2 and pyyaml
and either the template's content (the working tree) or a release's commit (`Source.release`:
what a release rendered cannot change, so those renders are kept across runs). The xdist
workers of a run, and the next runs while the key holds, share each render: a combination is
rendered once. `render_all(answer sets)` renders the missing ones in parallel, one process per
core; processes that ask for the same render at once split the work instead of repeating it.
Each render's digest is recorded when it is made: `changed_renders()` names any that a test
wrote into since (harness/proof.py reports them).
"""

from __future__ import annotations

import contextlib
import dataclasses
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

from harness import CACHE, ROOT

TEMPLATE_FILES = ("copier.yml", "questions", "template")
# What a render's bytes depend on besides the template and the answers.
TOOLS = ("copier", "jinja2", "pyyaml")


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


def tools_key() -> str:
    return digest(*(f"{name}=={importlib.metadata.version(name)}" for name in TOOLS))


@cache
def template_key() -> str:
    """The tools and the working tree's template files: a working-tree render's key."""
    parts = [tools_key()]
    for name in TEMPLATE_FILES:
        source = ROOT / name
        parts += [name, tree_digest(source) if source.is_dir() else digest(source.read_bytes())]
    return digest(*parts)


@dataclasses.dataclass(frozen=True)
class Source:
    """Where copier renders from: its cache key, the address it copies, and the git ref."""

    key: str
    url: str  # a folder, or the template's address (harness.template_repo serves it)
    vcs_ref: str | None = None

    @property
    def root(self) -> Path:
        return CACHE / "renders" / self.key

    @classmethod
    def release(cls, version: str, commit: str, url: str) -> Source:
        """A release, from the template's address at its tag: the same bytes forever."""
        return cls(digest("release", commit, tools_key()), url, version)


def working_tree() -> Source:
    return Source(template_key(), str(snapshot()))


@cache
def snapshot() -> Path:
    """copier.yml and template/ as they are in the working tree, outside git (copier renders a
    plain folder as it is; a git checkout would be rendered at its last commit)."""
    final = CACHE / "renders" / template_key() / "template"
    if not final.is_dir():
        _forget_old_templates(final.parent)
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


def _forget_old_templates(keep: Path, keep_seconds: float = 3600) -> None:
    """Working-tree renders of earlier template versions, unused for an hour, are only disk
    space (release renders are kept: they are valid as long as the tools are)."""
    for other in (CACHE / "renders").glob("*"):
        unused = time.time() - other.stat().st_mtime > keep_seconds
        if other != keep and (other / "template").is_dir() and unused:
            shutil.rmtree(other, ignore_errors=True)


def _path(answers: dict, source: Source) -> Path:
    return source.root / "projects" / digest(repr(sorted(answers.items()))) / "project"


def render(answers: dict, source: Source | None = None) -> Path:
    """The project for these answers, rendered now or earlier by any process."""
    source = source or working_tree()
    _render(answers, source, wait=True)
    return _path(answers, source)


def _render(answers: dict, source: Source, wait: bool) -> bool:
    """Render unless done; False when another process holds the render and wait is False."""
    final = _path(answers, source)
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

        from harness import fastcopier

        fastcopier.install()
        work = Path(tempfile.mkdtemp(prefix="render.", dir=final.parent))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "dirty template" and similar notes
                copier.run_copy(source.url, str(work), data=answers, vcs_ref=source.vcs_ref,
                                defaults=True, quiet=True)  # fmt: skip
            (final.parent / "digest").write_text(tree_digest(work))
            work.rename(final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return True


def changed_renders() -> list[Path]:
    """Working-tree renders whose files differ from what copier wrote."""
    changed = []
    for recorded in sorted((working_tree().root / "projects").glob("*/digest")):
        project = recorded.parent / "project"
        if project.is_dir() and tree_digest(project) != recorded.read_text():
            changed.append(project)
    return changed


def answers_of(project: Path) -> dict:
    """What a rendered project's .copier-answers.yml records."""
    import yaml

    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def _render_if_free(answers: dict, source: Source) -> bool:
    return _render(answers, source, wait=False)


def render_all(answer_sets: Iterable[dict], source: Source | None = None) -> list[Path]:
    """render() for each, the missing ones in parallel (spawned processes: pytest-xdist
    workers run threads, which a fork would copy mid-flight)."""
    source = source or working_tree()
    answer_sets = list(answer_sets)
    missing = [a for a in answer_sets if not _path(a, source).is_dir()]
    if len(missing) > 1:
        # Start where other processes of this run are unlikely to be (they go in pid order).
        shift = os.getpid() % len(missing)
        missing = missing[shift:] + missing[:shift]
        workers = min(len(missing), os.cpu_count() or 1)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_render_if_free, missing, [source] * len(missing), chunksize=4))
    return [render(answers, source) for answers in answer_sets]  # waits for any held elsewhere
