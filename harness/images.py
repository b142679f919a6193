"""The images the suite builds from the generated projects (`docker build`, as a user runs it),
what they are (config, size, id) and what their layers hold, and their removal."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness.docker import BUILD_TIMEOUT, docker, image_info


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
