"""Honest local stand-ins for the base images no registry delivers here (see
../shared/ENVIRONMENT.md): how to build each; harness/baseimages.py decides when one is needed.

Recipes live in harness/standins/<name>/. The python stand-ins start from a Debian rootfs
(harness/rootfs.py): trixie for 3.13 (and for 3.12, with this machine's CPython copied in),
forky for 3.14. Every stand-in is labelled as what it is (STANDIN_LABEL)
and with its recipe's digest (RECIPE_LABEL): its files, arguments, base and this machine's CA
bundle, which each build context carries so pip and uv reach PyPI through the proxy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from harness import CACHE, PYTHON_VERSION_LABEL, RECIPE_LABEL, STANDIN_LABEL
from harness.docker import image_info, labels, logfile, run_logged
from harness.rootfs import SUITES, TRIXIE, Suite, ensure_rootfs, rootfs_digest

log = logging.getLogger("start_django.standins")

RECIPES = Path(__file__).resolve().parent / "standins"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Service images with a stand-in: (Debian package, the version trixie ships, what it mimics).
SERVICES = {
    "postgres": (
        "postgresql-{version}",
        "17",
        "entrypoint mimicking the official POSTGRES_USER/PASSWORD/DB init",
    ),
    "redis": ("redis-server", "8", "bound to 0.0.0.0, protected mode off"),
    "caddy": ("caddy", "2", "reading /etc/caddy/Caddyfile, state in /data and /config"),
}


def ca_bundle_digest() -> str:
    return (
        hashlib.sha256(HOST_CA_BUNDLE.read_bytes()).hexdigest()[:16]
        if HOST_CA_BUNDLE.exists()
        else "none"
    )


@dataclasses.dataclass
class Recipe:
    """A stand-in built with `docker build` from harness/standins/<directory>."""

    tag: str
    directory: str
    description: str
    base: str  # the image its Dockerfile starts FROM, or a Suite's rootfs tag
    build_args: dict[str, str] = dataclasses.field(default_factory=dict)
    python_tree: Path | None = None  # copied into the context as ./python
    suite: Suite | None = None  # set when `base` is that suite's debootstrapped rootfs

    def digest(self, base_id: str = "") -> str:
        """Changes whenever the recipe's files, arguments, base or the CA bundle change.

        An image base counts by its id (`base_id`, once ensured: a rebuilt python stand-in
        rebuilds postgres and redis); a debootstrap rootfs by its own recipe, so the
        stand-ins stay valid when only they, not the intermediate rootfs image, are kept."""
        h = hashlib.sha256()
        for path in sorted((RECIPES / self.directory).rglob("*")):
            if path.is_file():
                h.update(path.name.encode() + b"\0" + path.read_bytes())
        h.update(json.dumps([self.base, self.build_args, str(self.python_tree)]).encode())
        h.update(ca_bundle_digest().encode())
        h.update((rootfs_digest(self.suite) if self.suite else base_id).encode())
        return h.hexdigest()[:16]

    def build(self, base_id: str = "") -> str | None:
        """Build it (its base ensured by the caller); None when built, else why not."""
        build_args = {"BASE": self.base, **self.build_args}
        if self.suite:
            if reason := ensure_rootfs(self.suite):
                return reason
            if "PYTHON_VERSION" not in build_args:  # Debian's python3 in the rootfs
                info = image_info(self.base) or {}
                build_args["PYTHON_VERSION"] = labels(info).get(PYTHON_VERSION_LABEL, "")
        log.info("building STAND-IN %s: %s", self.tag, self.description)
        log_path = logfile(self.tag)
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="standin-", dir=CACHE) as tmp:
            context = Path(tmp)
            shutil.copytree(RECIPES / self.directory, context, dirs_exist_ok=True)
            shutil.copyfile(HOST_CA_BUNDLE, context / "host-ca-bundle.crt")
            if self.python_tree:
                shutil.copytree(
                    self.python_tree, context / "python", symlinks=True, ignore=_slim_python
                )
            command = ["docker", "build", "--progress=plain", "--tag", self.tag]
            command += ["--label", f"{STANDIN_LABEL}={self.description}"]
            command += ["--label", f"{RECIPE_LABEL}={self.digest(base_id)}"]
            for key, value in build_args.items():
                command += ["--build-arg", f"{key}={value}"]
            ok, tail = run_logged([*command, str(context)], log_path)
        if not ok:
            return f"stand-in build failed: {tail} (log: {log_path})"
        log.info("built STAND-IN %s in %.0fs", self.tag, time.monotonic() - start)
        return None


def recipe(tag: str) -> Recipe | str:
    """How to build an honest stand-in for `tag`, or why there is none."""
    if m := re.fullmatch(r"python:(\d+\.\d+)-slim-trixie", tag):
        return _python_recipe(tag, m[1])
    if m := re.fullmatch(r"(postgres|redis|caddy):(\d+)", tag):
        name, version = m[1], m[2]
        package, trixie_version, what = SERVICES[name]
        if version != trixie_version:
            return f"no stand-in: Debian trixie ships {name} {trixie_version}, not {version}"
        base = f"python:{TRIXIE.python}-slim-trixie"
        return Recipe(
            tag,
            name,
            f"STAND-IN for {tag}, not the official image: Debian trixie "
            f"{package.format(version=version)} on the {base} image, {what}",
            base=base,
        )
    return "no stand-in recipe for this image and it cannot be pulled"


def _python_recipe(tag: str, version: str) -> Recipe | str:
    if suite := SUITES.get(version):
        based = "" if suite is TRIXIE else f", {suite.name}-based: trixie ships {TRIXIE.python}"
        return Recipe(
            tag,
            "python",
            f"STAND-IN for {tag}, not the official image: Debian {suite.name}'s python3 "
            f"(debootstrap minbase{based}) with python/pip symlinked into /usr/local/bin, "
            "no PEP 668 marker, this machine's CA bundle",
            base=suite.rootfs_tag,  # PYTHON_VERSION: read from the rootfs's label
            suite=suite,
        )
    tree = _host_cpython(version)
    if tree is None:
        return (
            f"no honest stand-in: no Debian release here ships Python {version}, this "
            f"machine has no CPython {version} build to copy (looked in "
            f"{_pyenv_root()}/versions) and uv cannot download interpreters here"
        )
    return Recipe(
        tag,
        "python-from-host",
        f"STAND-IN for {tag}, not the official image: CPython {tree.name} copied from this "
        "machine's pyenv build (compiled on Debian bookworm) into /usr/local on a "
        "Debian trixie minbase rootfs, this machine's CA bundle",
        base=TRIXIE.rootfs_tag,
        build_args={"PYTHON_VERSION": tree.name, "SOURCE_PREFIX": str(tree)},
        python_tree=tree,
        suite=TRIXIE,
    )


def _pyenv_root() -> Path:
    if root := os.environ.get("PYENV_ROOT"):
        return Path(root)
    if shutil.which("pyenv"):
        result = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            return Path(result.stdout.strip())
    return Path.home() / ".pyenv"


def _host_cpython(version: str) -> Path | None:
    """The newest pyenv CPython X.Y.Z (shared build) on this machine, if any."""
    found = []
    for path in (_pyenv_root() / "versions").glob(f"{version}.*"):
        if re.fullmatch(rf"{re.escape(version)}\.\d+", path.name) and (
            (path / "lib" / f"libpython{version}.so.1.0").exists()
        ):
            found.append((int(path.name.rsplit(".", 1)[1]), path))
    return max(found)[1] if found else None


def _slim_python(directory: str, names: list[str]) -> set[str]:
    """Leave out what the official slim image leaves out, and this sandbox's .pth."""
    skip = {n for n in names if n in {"test", "tests", "idle_test"} or n.endswith(".a")}
    if directory.endswith("site-packages"):
        skip |= {n for n in names if n.endswith(".pth")}
    return skip
