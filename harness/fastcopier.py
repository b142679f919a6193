"""copier as the suite runs it in-process: the same renders, minus one `git config` process
per rendered file.

copier 9.19 asks git for `core.fileMode` of the destination before writing each file's mode
(`Worker._sync_git_index_executable_bit`), which only acts where it is "false". The answer
cannot change during a render unless the destination's git config does, so here it is asked
once per destination and config file state. A render of this template's 77 files spends about
half its time in those processes otherwise. (The same memo belongs upstream, in copier: the
setting is read per file today.)

`install()` is idempotent; harness.renders and the upgrade tests call it before rendering.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

_FILE_MODE: dict[tuple[str, float | None], str] = {}


def _config_state(root: Path) -> float | None:
    config = root / ".git" / "config"
    return config.stat().st_mtime if config.exists() else None


def file_mode(root: Path) -> str:
    """`git config --type=bool --get core.fileMode` in root ("" when unset or no repo)."""
    key = (str(root), _config_state(root))
    if key not in _FILE_MODE:
        result = subprocess.run(
            ["git", "config", "--type=bool", "--get", "core.fileMode"],
            cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
        _FILE_MODE[key] = result.stdout.strip() if result.returncode == 0 else ""
    return _FILE_MODE[key]


def install() -> None:
    from copier import _main

    original = _main.Worker._sync_git_index_executable_bit
    if getattr(original, "memoized", False):
        return

    def sync(self, dst_relpath, src_mode):
        root = Path(self.subproject.local_abspath)
        if root.is_dir() and file_mode(root) != "false":
            return  # git picks up the on-disk chmod itself: what copier would conclude
        original(self, dst_relpath, src_mode)

    sync.memoized = True
    _main.Worker._sync_git_index_executable_bit = sync
