"""This template as a throwaway git repository with tagged releases: what `copier copy` and
`copier update` see at gh:org/start-django, without the network. Tests cut releases in it.

`previous_release()` reads CHANGELOG.md; `TemplateRepo(path, commit=...)` starts the repository
from that release's commit in this repository's own history, so an upgrade test updates from
what teams really generated."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from harness import ROOT
from harness.commands import git, run

TEMPLATE_PARTS = ("copier.yml", "questions", "template", "migrations")
# "## v0.1.0 (f67488a, 2026-11-29)": a release, its commit and its date.
RELEASE_HEADING = re.compile(r"^## (v\d+\.\d+\.\d+\S*) \(([0-9a-f]{7,40}), ", re.MULTILINE)


def previous_release() -> tuple[str, str]:
    """The newest release CHANGELOG.md names: (version, commit)."""
    found = RELEASE_HEADING.search((ROOT / "CHANGELOG.md").read_text())
    assert found, "CHANGELOG.md names no release ('## vX.Y.Z (commit, date)')"
    return found[1], found[2]


def _have_commit(commit: str) -> bool:
    return run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT).returncode == 0


def _release_files(commit: str, dest: Path) -> None:
    """The template's files as they were at `commit`, written into dest."""
    if (
        not _have_commit(commit)
        and git(ROOT, "rev-parse", "--is-shallow-repository").strip() == "true"
    ):
        git(ROOT, "fetch", "--quiet", "--unshallow")  # a shallow CI clone lacks the release
    assert _have_commit(commit), f"commit {commit} (CHANGELOG.md) is not in this repository"
    present = set(git(ROOT, "ls-tree", "--name-only", commit).splitlines())
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, *(p for p in TEMPLATE_PARTS if p in present)],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


class TemplateRepo:
    def __init__(self, path: Path, first: str = "v1.0.0", commit: str | None = None) -> None:
        """The template committed and tagged `first`: as it is in the working tree, or as it
        was at `commit` of this repository's history."""
        self.path = path
        path.mkdir(parents=True)
        if commit:
            _release_files(commit, path)
        else:
            self._copy_working_tree()
        git(path, "init", "--quiet")
        self.release(first)

    def _copy_working_tree(self) -> None:
        for name in TEMPLATE_PARTS:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(
                    source, self.path / name, ignore=shutil.ignore_patterns("__pycache__")
                )
            elif source.exists():
                shutil.copy2(source, self.path / name)

    def advance_to_working_tree(self) -> str:
        """Commit the working tree's template on top (untagged, as on main after a release);
        returns what copier records for it (`git describe --tags`)."""
        for name in TEMPLATE_PARTS:
            target = self.path / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        self._copy_working_tree()
        self.release(None)
        return git(self.path, "describe", "--tags").strip()

    def edit(self, rel: str, old: str, new: str) -> None:
        """Replace the first `old` in a template file (which must hold it) by `new`."""
        target = self.path / rel
        text = target.read_text()
        assert old in text, f"{old!r} not in {rel}"
        target.write_text(text.replace(old, new, 1))

    def write(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def release(self, tag: str | None) -> None:
        """Commit everything as it is now, and tag it (None: no tag)."""
        git(self.path, "add", "--all")
        git(
            self.path, "commit", "--quiet", "--allow-empty", "--message", f"release {tag or 'next'}"
        )
        if tag:
            git(self.path, "tag", tag)
