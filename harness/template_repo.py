"""This template as a git repository with tagged releases: what `copier copy` and
`copier update` see at gh:org/start-django, without the network. Tests cut releases in it.

`releases()` reads CHANGELOG.md; `TemplateRepo(path, commit=...)` starts the repository
from a release's commit in this repository's own history, so an upgrade test updates from
what teams really generated. `address_env(repo)` makes the template's public address,
gh:org/start-django, resolve to such a repository for git (and so for copier), as a project's
answers file records it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from harness import ROOT
from harness.commands import git, run

TEMPLATE_PARTS = ("copier.yml", "questions", "template", "migrations")
# "## v0.1.0 (f67488a, 2026-11-29)": a release, its commit and its date.
RELEASE_HEADING = re.compile(r"^## (v\d+\.\d+\.\d+\S*) \(([0-9a-f]{7,40}), ", re.MULTILINE)
ADDRESS = "gh:org/start-django"  # where the README and the manual say the template lives
GIT_URL = "https://github.com/org/start-django.git"  # what copier makes of ADDRESS


def releases() -> list[tuple[str, str]]:
    """Every release CHANGELOG.md names, newest first: (version, commit)."""
    found = RELEASE_HEADING.findall((ROOT / "CHANGELOG.md").read_text())
    assert found, "CHANGELOG.md names no release ('## vX.Y.Z (commit, date)')"
    return found


def previous_release() -> tuple[str, str]:
    """The newest release CHANGELOG.md names: (version, commit)."""
    return releases()[0]


# Projects made by the newest SUPPORTED releases update to the next one, proven
# (CONTRIBUTING.md, "Supported releases").
SUPPORTED = 2


def supported_releases() -> list[tuple[str, str]]:
    """The releases a project may update from, oldest first: (version, commit)."""
    return list(reversed(releases()[:SUPPORTED]))


def next_version(version: str) -> str:
    """The version after `version` for the working tree: the next minor (v0.1.0 -> v0.2.0)."""
    major, minor, _ = re.match(r"v(\d+)\.(\d+)\.(\d+)", version).groups()
    return f"v{major}.{int(minor) + 1}.0"


def address_env(repo: Path) -> dict[str, str]:
    """git configuration, as environment variables, under which the template's address
    (ADDRESS, GIT_URL) is the repository at `repo`."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{repo}.insteadOf",
        "GIT_CONFIG_VALUE_0": GIT_URL,
    }


def serve_address(repo: Path, **more: str) -> None:
    """From now on, in this process (os.environ, and plumbum's copy of it, which copier's git
    commands use), the template's address is the repository at `repo`; `more` variables too."""
    from plumbum import local

    env = {**address_env(repo), **more}
    os.environ.update(env)
    local.env.update(env)


def _have_commit(commit: str) -> bool:
    return run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT).returncode == 0


def resolve(commit: str) -> str:
    """A release's full commit, fetched first when a shallow clone (CI's) lacks it."""
    if (
        not _have_commit(commit)
        and git(ROOT, "rev-parse", "--is-shallow-repository").strip() == "true"
    ):
        git(ROOT, "fetch", "--quiet", "--unshallow")
    assert _have_commit(commit), f"commit {commit} (CHANGELOG.md) is not in this repository"
    return git(ROOT, "rev-parse", f"{commit}^{{commit}}").strip()


def assert_not_head(commit: str) -> None:
    """An upgrade from the commit the working tree stands on proves nothing: refuse it."""
    head = git(ROOT, "rev-parse", "HEAD").strip()
    assert resolve(commit) != head, (
        f"the release to update from ({commit}) is HEAD itself: an upgrade from it proves "
        "nothing (cut releases from an earlier commit; see CONTRIBUTING.md)"
    )


def _release_files(commit: str, dest: Path) -> None:
    """The template's files as they were at `commit`, written into dest."""
    commit = resolve(commit)
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

    def advance_to_working_tree(self, tag: str | None = None) -> str:
        """Commit the working tree's template on top (tagged `tag`, as a release would be, or
        untagged, as on main after a release); returns what copier records for it."""
        for name in TEMPLATE_PARTS:
            target = self.path / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        self._copy_working_tree()
        self.release(tag)
        return git(self.path, "describe", "--tags").strip()

    def advance_to_release(self, version: str, commit: str) -> None:
        """Commit the template as it was at `commit` on top, tagged `version`."""
        for name in TEMPLATE_PARTS:
            target = self.path / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        _release_files(commit, self.path)
        self.release(version)

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
