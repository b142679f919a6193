"""A rendered project made ready to build and run: copied out of the render cache, with its
`uv lock` (made once per distinct pyproject.toml, shared by the run's processes and by the next
runs of the same day) and the `.env` that `just env` writes; and the decoys a developer's src/
really holds, none of which may reach an image.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import sqlite3
import time
from pathlib import Path

from harness import CACHE, SUITE_PREFIX
from harness.baseimages import ensure_for_dockerfile
from harness.commands import run, tool, uv_env

LOCKS = CACHE / "locks"
LOCK_MAX_AGE = 24 * 3600  # a day: new releases of the dependencies reach the next day's locks


def prepare(rendered: Path, destination: Path) -> Path:
    """Copy a rendered project, lock its dependencies (`uv lock`) and write .env (`just env`)."""
    shutil.copytree(rendered, destination, symlinks=True)
    lock(destination)
    assert (destination / ".env.example").exists(), "container tests render with secrets=dotenv"
    made = run([tool("just"), "env"], cwd=destination)
    assert made.returncode == 0, made.output
    return destination


def lock(project: Path) -> None:
    """src/uv.lock as `just lock` makes it, made once per pyproject.toml (and uv version) and
    shared: by the run's processes, and by the next runs of the same day."""
    src = project / "src"
    uv_version = run(["uv", "--version"], env=uv_env()).stdout.split()[1]
    cached = LOCKS / lock_key((src / "pyproject.toml").read_bytes(), uv_version) / "uv.lock"
    cached.parent.mkdir(parents=True, exist_ok=True)
    with open(cached.parent / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not cached.exists() or time.time() - cached.stat().st_mtime > LOCK_MAX_AGE:
            _uv_lock(src, uv_version)
            shutil.copyfile(src / "uv.lock", cached)
    shutil.copyfile(cached, src / "uv.lock")


def lock_key(pyproject: bytes, uv_version: str) -> str:
    return hashlib.sha256(pyproject + b"\0" + uv_version.encode()).hexdigest()[:16]


def _uv_lock(src: Path, uv_version: str) -> None:
    """`uv lock` in src/. uv needs an interpreter of the project's Python; where this machine
    has none (and uv cannot download one, as here for 3.14), the lock is made inside the
    project's own base image, which has it. The lock is the same universal file either way."""
    locked = run(["uv", "lock"], cwd=src, env=uv_env(), timeout=300)
    if locked.returncode == 0:
        return
    assert "No interpreter found" in locked.output, locked.output
    base = ensure_for_dockerfile(next(src.parent.glob("deploy/*/Dockerfile")))[0].tag
    script = (
        "python -m venv /tmp/uv && /tmp/uv/bin/pip install --quiet uv==$UV_VERSION"
        " && /tmp/uv/bin/uv lock && chown $OWNER uv.lock"
    )
    in_image = run(
        ["docker", "run", "--rm", "--volume", f"{src}:/src", "--workdir", "/src",
         "--volume", f"{SUITE_PREFIX}lock-cache:/cache", "--env", "UV_CACHE_DIR=/cache/uv",
         "--env", "PIP_CACHE_DIR=/cache/pip", "--env", "UV_PYTHON_DOWNLOADS=never",
         "--env", f"UV_VERSION={uv_version}", "--env", f"OWNER={os.getuid()}:{os.getgid()}",
         base, "sh", "-c", script],
        timeout=600,
    )  # fmt: skip
    assert in_image.returncode == 0, f"{locked.output}\n{in_image.output}"


def plant_decoys(src: Path) -> list[str]:
    """Files a developer's src/ really holds after local work, none of which may reach an
    image: secrets, SQLite databases with their journals, collected static and media files,
    a virtualenv. Returns their paths relative to src/."""
    decoys = {
        ".env": "SECRET_KEY=decoy-secret-must-not-reach-an-image\n",
        ".env.local": "SECRET_KEY=decoy\n",
        "config/.env": "SECRET_KEY=decoy\n",
        "config/.env.production": "SECRET_KEY=decoy\n",
        "staticfiles/decoy.css": "body{}\n",
        "mediafiles/decoy.txt": "upload\n",
        ".venv/decoy.txt": "venv\n",
    }
    for rel, text in decoys.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    databases = ("db.sqlite3", "huey.sqlite3", "test_db.sqlite3", "data.db", "data/nested.sqlite3")
    for rel in databases:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(src / rel)) as db:
            db.execute("CREATE TABLE decoy (secret TEXT)")
            db.execute("INSERT INTO decoy VALUES ('must not reach an image')")
            db.commit()
    for rel in ("db.sqlite3-wal", "db.sqlite3-shm", "db.sqlite3-journal"):
        (src / rel).write_bytes(b"SQLite format 3\0" + b"\0" * 100)
    return sorted([*decoys, *databases])
