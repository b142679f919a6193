"""The Docker engine, as the suite uses it: whether there is one, its versions, and `forget`
(as if the suite never ran here). Base images are harness/baseimages.py's, the images built
from the generated projects harness/images.py's; `docker` commands go through harness/docker.py.

    python -m harness.engine ensure [TAG ...]   # base images, real or stand-in (baseimages)
    python -m harness.engine forget             # what the suite left on the engine and disk
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import CACHE, STANDIN_LABEL, SUITE_PREFIX
from harness.baseimages import BASE_IMAGES
from harness.commands import require
from harness.docker import docker

# Images this suite builds or imports are named with SUITE_PREFIX, or here; `forget` removes
# them.
STANDIN_REPOSITORY = "start-django-standin/"


def engine_available() -> str | None:
    """None when engine, compose v2 and buildx work; else the reason they don't."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH (run scripts/bootstrap)"
    for args, what in (
        (("info",), "docker engine"),
        (("compose", "version"), "docker compose v2 plugin"),
        (("buildx", "version"), "docker buildx plugin"),
    ):
        try:
            result = docker(*args, timeout=30)
        except subprocess.TimeoutExpired:
            return f"{what}: `docker {' '.join(args)}` timed out (run scripts/bootstrap)"
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
            return (
                f"{what} not usable: `docker {' '.join(args)}`: {lines[-1]} (run scripts/bootstrap)"
            )
    return None


def require_engine() -> None:
    """Skip the calling test without an engine, or fail it when CI=true."""
    require(engine_available())


def _named(kind: str, *args: str) -> list[str]:
    """Names of the engine's objects of a kind (`stack`, `secret`, `volume`, `network`) that
    the suite made."""
    listed = docker(kind, "ls", *args, "--format", "{{.Name}}").stdout.split()
    return [name for name in listed if name.startswith(SUITE_PREFIX)]


def forget() -> list[str]:
    """Remove what this suite leaves on the engine and the machine, as if it never ran here:
    its swarm stacks and secrets, containers, volumes and networks, the base images (stand-in
    or real), the images it built or imported, the build cache (uv's and pip's cache mounts
    included), and its cache folder (debootstrap tarballs, renders, locks, logs). Other images
    on the engine are left alone."""
    done = []
    # Swarm stacks (tests/test_swarm.py) first: their services would start new containers.
    stacks = _named("stack")
    for name in stacks:
        docker("stack", "rm", "--detach=false", name, timeout=300)
    if secrets := _named("secret"):
        docker("secret", "rm", *secrets)
    if stacks or secrets:
        done.append(f"{len(stacks)} swarm stacks, {len(secrets)} secrets")
    from harness.swarm import SWARM_MARK

    if SWARM_MARK.exists():  # the suite turned swarm mode on: off again, before anything runs
        docker("swarm", "leave", "--force", timeout=120)
        done.append("swarm mode")
    containers = docker("ps", "--all", "--quiet", "--filter", f"name=^{SUITE_PREFIX}").stdout
    if containers.split():
        docker("rm", "--force", "--volumes", *containers.split(), timeout=300)
        done.append(f"{len(containers.split())} containers")
    if volumes := _named("volume"):
        docker("volume", "rm", "--force", *volumes, timeout=300)
        done.append(f"{len(volumes)} volumes")
    if networks := _named("network"):
        docker("network", "rm", *networks, timeout=300)
        done.append(f"{len(networks)} networks")
    listing = docker(
        "image", "ls", "--all", "--format",
        '{{.ID}} {{.Repository}}:{{.Tag}} {{.Label "com.docker.compose.project"}}',
    ).stdout  # fmt: skip
    images = set()
    for line in listing.splitlines():
        image, ref, *project = line.split()
        if (
            ref in BASE_IMAGES
            or ref.startswith((STANDIN_REPOSITORY, SUITE_PREFIX))
            or (project and project[0].startswith(SUITE_PREFIX))
        ):
            images.add(image)
    images |= set(
        docker("image", "ls", "--quiet", "--filter", f"label={STANDIN_LABEL}").stdout.split()
    )
    if images:
        docker("image", "rm", "--force", *sorted(images), timeout=600)
        done.append(f"{len(images)} images")
    docker("image", "prune", "--force", timeout=600)
    docker("builder", "prune", "--all", "--force", timeout=600)
    done.append("the build cache")
    for folder in (CACHE, Path(tempfile.gettempdir()) / "start-django-docs"):
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            done.append(str(folder))
    return done


def engine_facts() -> dict[str, str]:
    """Engine and plugin versions, for reports."""
    facts = {}
    for key, args in (
        ("engine", ("version", "--format", "{{.Server.Version}}")),
        ("compose", ("compose", "version", "--short")),
        ("buildx", ("buildx", "version")),
    ):
        result = docker(*args)
        facts[key] = result.stdout.strip() if result.returncode == 0 else "unknown"
    return facts


def main(argv: list[str]) -> int:
    import logging

    from harness import baseimages

    logging.basicConfig(level=logging.INFO, format="engine: %(message)s", stream=sys.stderr)
    if not argv or argv[0] not in {"ensure", "forget"}:
        print("usage: python -m harness.engine ensure [TAG ...] | forget", file=sys.stderr)
        return 2
    if reason := engine_available():
        print(f"no Docker engine: {reason}", file=sys.stderr)
        return 1
    if argv[0] == "forget":
        print(f"engine: forgot {', '.join(forget()) or 'nothing'}", file=sys.stderr)
        return 0
    return baseimages.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
