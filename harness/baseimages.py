"""The base images the generated Dockerfiles and compose files use, made available under
their official tags before anything starts (compose would otherwise try to pull a missing
one, and fail on a machine without a registry).

`ensure_image(tag)`: `docker pull` first (the real image; a stand-in left from an earlier run
never shadows it); a real image already here is used as it is; otherwise an honest stand-in
(harness/standins.py), rebuilt when its recipe changed; when none can be had, the answer says
"unavailable" and why. `ENSURED` is what this process settled on, for the proof line.

    python -m harness.baseimages [TAG ...]     # ensure them (all when none), print a table
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from harness import CACHE, RECIPE_LABEL, STANDIN_LABEL, SUITE_PREFIX
from harness.docker import docker, image_info, labels, last_line
from harness.standins import Recipe, recipe

log = logging.getLogger("start_django.baseimages")

BASE_IMAGES = (
    "python:3.12-slim-trixie",
    "python:3.13-slim-trixie",
    "python:3.14-slim-trixie",
    "postgres:17",
    "redis:8",
    "caddy:2",
)
PULL_TIMEOUT = int(os.environ.get("START_DJANGO_PULL_TIMEOUT", "60"))


@dataclasses.dataclass(frozen=True)
class ImageSource:
    """Where the image behind a tag comes from."""

    tag: str
    source: str  # "real", "stand-in", "suite" (one of its own) or "unavailable"
    detail: str  # the stand-in's label, the real image's id, or why it is unavailable
    seconds: float = 0.0  # time ensure_image() spent (pull or build)

    @property
    def available(self) -> bool:
        return self.source != "unavailable"

    def __str__(self) -> str:
        return f"{self.tag}: {self.source} ({self.detail})"


_tls = threading.local()


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """One image build at a time across the run's processes; re-entrant."""
    if getattr(_tls, "depth", 0):
        _tls.depth += 1
        try:
            yield
        finally:
            _tls.depth -= 1
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "images.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _tls.depth = 1
        try:
            yield
        finally:
            _tls.depth = 0


ENSURED: dict[str, ImageSource] = {}  # tag -> what ensure_image() settled on, this process


def ensure_image(tag: str) -> ImageSource:
    """Make `tag` available locally: pulled, as it is, or as an honest stand-in.

    Settled once per process: a pull that failed is not tried again, and a stand-in
    found up to date is not inspected again."""
    if tag in ENSURED and (not ENSURED[tag].available or image_info(tag) is not None):
        return ENSURED[tag]
    start = time.monotonic()
    with locked():
        result = _ensure(tag)
    ENSURED[tag] = dataclasses.replace(result, seconds=round(time.monotonic() - start, 1))
    return ENSURED[tag]


def ensure_images(*tags: str) -> list[ImageSource]:
    """ensure_image() for each tag; AssertionError naming the first that cannot be had."""
    sources = [ensure_image(tag) for tag in dict.fromkeys(tags)]
    for source in sources:
        if not source.available:
            raise AssertionError(f"image {source.tag} is unavailable: {source.detail}")
    return sources


def base_images(dockerfile: Path) -> list[str]:
    """The images a Dockerfile starts FROM (stage names excluded)."""
    stages, bases = set(), []
    pattern = re.compile(
        r"^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.MULTILINE | re.IGNORECASE
    )
    for match in pattern.finditer(dockerfile.read_text()):
        if match[1] not in stages:
            bases.append(match[1])
        if match[2]:
            stages.add(match[2])
    return bases


def ensure_for_dockerfile(dockerfile: Path) -> list[ImageSource]:
    return ensure_images(*base_images(dockerfile))


def compose_config(
    project: Path,
    profile: str,
    files: tuple[str, ...] = ("compose.yaml",),
    env: dict | None = None,
    interpolate: bool = True,
) -> dict:
    """What `docker compose -f ... --profile P config` resolves, as a dict (services of other
    profiles left out). Without interpolation it works before `just env` wrote .env."""
    args = [arg for name in files for arg in ("-f", name)]
    flags = [] if interpolate else ["--no-interpolate"]
    result = docker(
        "compose", *args, "--profile", profile, "config", *flags, "--format", "json",
        cwd=project, env=env, timeout=120,
    )  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"docker compose config failed:\n{result.stdout}{result.stderr}")
    config = json.loads(result.stdout)
    config["services"] = {
        name: service
        for name, service in config["services"].items()
        if not service.get("profiles") or profile in service["profiles"]
    }
    return config


def ensure_for_compose(
    project: Path, profile: str, files: tuple[str, ...] = ("compose.yaml",), env=None
) -> list[ImageSource]:
    """Every image a compose profile uses: the ones it runs and the bases of the ones it builds."""
    tags = []
    services = compose_config(project, profile, files, env, interpolate=False)["services"]
    for service in services.values():
        if build := service.get("build"):
            tags += base_images(Path(build["context"]) / build.get("dockerfile", "Dockerfile"))
        else:
            tags.append(service["image"])
    return ensure_images(*tags)


def _ensure(tag: str) -> ImageSource:
    info = image_info(tag)
    if tag.startswith(SUITE_PREFIX):  # the suite's own (harness/s3service.py's): built, not pulled
        why = "built by the suite" if info else "not built yet (its harness module builds it)"
        return ImageSource(tag, "suite" if info else "unavailable", why)
    if info is not None and STANDIN_LABEL not in labels(info):
        return ImageSource(tag, "real", f"local image {info['Id'][:19]}")
    # The real image first, also over a stand-in left from an earlier run.
    try:
        pulled = docker("pull", "--quiet", tag, timeout=PULL_TIMEOUT)
    except subprocess.TimeoutExpired:
        log.info("docker pull %s timed out after %ss", tag, PULL_TIMEOUT)
    else:
        if pulled.returncode == 0:
            return ImageSource(tag, "real", f"pulled {pulled.stdout.strip()}")
        log.info("docker pull %s failed: %s", tag, last_line(pulled.stderr))
    how = recipe(tag)
    if isinstance(how, str):
        return ImageSource(tag, "unavailable", how)
    base_id = ""
    if not how.suite:  # an image base: ensured first, it counts by its id
        base = ensure_image(how.base)
        if not base.available:
            return ImageSource(tag, "unavailable", f"needs {how.base}: {base.detail}")
        base_id = image_info(how.base)["Id"]
    if info is not None:
        if labels(info).get(RECIPE_LABEL) == how.digest(base_id):
            level = logging.INFO if _tls.depth == 1 else logging.DEBUG  # not for bases
            log.log(level, "using stand-in %s: %s", tag, labels(info)[STANDIN_LABEL])
            return ImageSource(tag, "stand-in", labels(info)[STANDIN_LABEL])
        log.info("stand-in %s is out of date (its recipe changed)", tag)
    return _build(how, base_id, info)


def _build(how: Recipe, base_id: str, old: dict | None) -> ImageSource:
    if reason := how.build(base_id):
        log.warning("%s: %s", how.tag, reason)
        return ImageSource(how.tag, "unavailable", reason)
    if old is not None:
        docker("image", "rm", old["Id"])  # fails harmlessly while a container uses it
    return ImageSource(how.tag, "stand-in", how.description)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="baseimages: %(message)s", stream=sys.stderr)
    results = [ensure_image(tag) for tag in argv or BASE_IMAGES]
    width = max(len(r.tag) for r in results)
    print(f"{'TAG':<{width}}  {'SOURCE':<11}  {'SECONDS':>7}  DETAIL")
    for r in results:
        print(f"{r.tag:<{width}}  {r.source:<11}  {r.seconds:>7.1f}  {r.detail}")
    return 0 if all(r.available for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
