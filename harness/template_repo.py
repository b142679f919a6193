"""This template as a throwaway git repository with tagged releases: what `copier copy` and
`copier update` see at gh:org/start-django, without the network. Tests cut releases in it."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness import ROOT
from harness.commands import git

TEMPLATE_PARTS = ("copier.yml", "questions", "template", "migrations")


class TemplateRepo:
    def __init__(self, path: Path, first: str = "v1.0.0") -> None:
        """The template as it is in the working tree, committed and tagged `first`."""
        self.path = path
        path.mkdir(parents=True)
        for name in TEMPLATE_PARTS:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, path / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif source.exists():
                shutil.copy2(source, path / name)
        git(path, "init", "--quiet")
        self.release(first)

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

    def release(self, tag: str) -> None:
        """Commit everything as it is now and tag it."""
        git(self.path, "add", "--all")
        git(self.path, "commit", "--quiet", "--allow-empty", "--message", f"release {tag}")
        git(self.path, "tag", tag)
