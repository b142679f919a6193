"""The Docker engine, as the suite uses it: whether there is one, the images the suite builds
from the generated projects, what their layers hold, and `forget` (as if the suite never ran
here). Base images are harness/baseimages.py's; `docker` commands go through harness/docker.py.

    python -m harness.engine ensure [TAG ...]   # base images, real or stand-in (baseimages)
    python -m harness.engine forget             # what the suite left on the engine and disk
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness import CACHE, SUITE_PREFIX
from harness.baseimages import BASE_IMAGES
from harness.commands import require
from harness.docker import BUILD_TIMEOUT, docker, image_info
from harness.standins import STANDIN_LABEL

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


# --- images the suite builds from the generated projects --------------------------------------


@dataclasses.dataclass(frozen=True)
class Built:
    """An image built from a generated project's Dockerfile."""

    tag: str
    ok: bool
    seconds: float
    log: str  # the build's full output (BuildKit plain progress)

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.log.strip().splitlines()[-lines:])


def build_image(
    tag: str, context: Path, dockerfile: Path, build_args: dict[str, str] | None = None
) -> Built:
    """`DOCKER_BUILDKIT=1 docker build` as a user would run it (no extra flags or cache busting)."""
    command = ["docker", "build", "--progress=plain", "--tag", tag, "--file", str(dockerfile)]
    for key, value in (build_args or {}).items():
        command += ["--build-arg", f"{key}={value}"]
    start = time.monotonic()
    try:
        result = subprocess.run(
            [*command, str(context)],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
            env={**os.environ, "DOCKER_BUILDKIT": "1"},
        )
        ok, log_text = result.returncode == 0, result.stdout + result.stderr
    except subprocess.TimeoutExpired:
        ok, log_text = False, f"timed out after {BUILD_TIMEOUT}s"
    seconds = round(time.monotonic() - start, 1)
    return Built(tag, ok, seconds, f"$ {' '.join(command)} {context}\n{log_text}")


def image_config(tag: str) -> dict:
    """`docker image inspect`'s Config (User, Env, Cmd, Healthcheck, ...), Size and Id."""
    info = image_info(tag)
    if info is None:
        raise LookupError(f"no image {tag}")
    return {**(info.get("Config") or {}), "Size": info.get("Size", 0), "Id": info["Id"]}


def image_size(tag: str) -> int:
    return image_config(tag)["Size"]


def image_id(tag: str) -> str | None:
    info = image_info(tag)
    return info["Id"] if info else None


SQLITE_MAGIC = b"SQLite format 3\0"


@dataclasses.dataclass(frozen=True)
class LayerFile:
    layer: str  # the layer's name in `docker save` output
    path: str
    head: bytes  # the first 16 bytes (regular files only)


def layer_files(tag: str, above: str | None = None) -> Iterator[LayerFile]:
    """Every file of every layer of `tag` that is not a layer of the image `above` (its
    base): the layers the build added.

    With the overlay2 storage driver (Docker's default on Linux), read from the layers'
    directories on disk: no export, the engine is not asked to stream the whole image.
    Otherwise from `docker save`, streamed: the OCI layout engines v25+ write names each
    layer blob by its digest, which is its diff id, so the base's are skipped by it."""
    info = image_info(tag)
    assert info is not None, f"no image {tag}"
    base = 0
    if above is not None:
        base_info = image_info(above)
        assert base_info is not None, f"no image {above}"
        base = len(base_info["RootFS"]["Layers"])
        assert info["RootFS"]["Layers"][:base] == base_info["RootFS"]["Layers"], (
            f"{tag} is not built on {above}"
        )
    driver = info.get("GraphDriver") or {}
    if driver.get("Name") == "overlay2" and os.access(driver["Data"]["UpperDir"], os.R_OK):
        yield from _overlay_files(driver["Data"], len(info["RootFS"]["Layers"]) - base)
    else:
        skip = {layer.removeprefix("sha256:") for layer in info["RootFS"]["Layers"][:base]}
        yield from _saved_files(tag, skip)


def _overlay_files(data: dict, count: int) -> Iterator[LayerFile]:
    """The files of the top `count` layers, from overlay2's diff directories (top first)."""
    layers = [data["UpperDir"], *data.get("LowerDir", "").split(":")][:count]
    for layer in layers:
        root = Path(layer)
        for directory, dirs, files in os.walk(root):
            for name in [*dirs, *files]:
                path = Path(directory) / name
                head = b""
                if name in files and path.is_file() and not path.is_symlink():
                    with open(path, "rb") as f:
                        head = f.read(len(SQLITE_MAGIC))
                yield LayerFile(layer, path.relative_to(root).as_posix(), head)


def _saved_files(tag: str, skip: set[str]) -> Iterator[LayerFile]:
    """The files of the layers of `docker save` whose blob names are not in `skip`."""
    save = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=save.stdout, mode="r|") as outer:
            for member in outer:
                if not member.isfile():
                    continue
                if not (member.name.endswith("layer.tar") or member.name.startswith("blobs/")):
                    continue
                if member.name.rsplit("/", 1)[-1] in skip:
                    continue
                blob = outer.extractfile(member)
                try:
                    with tarfile.open(fileobj=blob, mode="r|") as layer:
                        for entry in layer:
                            head = b""
                            if entry.isfile():
                                head = layer.extractfile(entry).read(len(SQLITE_MAGIC))
                            yield LayerFile(member.name, entry.name, head)
                except tarfile.ReadError:
                    continue  # a JSON config or manifest blob
    finally:
        save.stdout.close()
        if save.wait(timeout=120) != 0:
            raise RuntimeError(f"docker save {tag} failed with status {save.returncode}")


def remove_images(*tags: str) -> None:
    """Remove tags this suite built; layers stay in the build cache for the next run."""
    if tags:
        docker("image", "rm", "--force", *tags, timeout=120)


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
