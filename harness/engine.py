"""The Docker engine and the base images of the generated project, for the test suite.

This is the one module that talks to the engine about *images*:

* `engine_available()` / `require_engine()`: is there a usable engine with the
  compose v2 and buildx plugins (see scripts/bootstrap)?  Without one a test is
  skipped, or fails when CI=true.
* `ensure_image(tag)`: makes a base image the generated Dockerfiles and compose
  files use available under its official tag.  `docker pull` comes first (the
  real image; a stand-in left from an earlier run never shadows it); a real
  image already here is used as it is; otherwise an honest STAND-IN is built
  from Debian packages and labelled `org.start-django.standin=<what it is>`;
  when no honest stand-in exists the answer says "unavailable" and why.
* `ensure_for_compose(project, profile)` / `ensure_for_dockerfile(path)`: every
  image a compose profile or a Dockerfile names, ensured before anything starts
  (compose would otherwise try to pull it, and fail on a fresh machine).
* `ENSURED`: what this process ensured, for the summary (harness/proof.py).

Stand-in recipes live in harness/standins/.  The python stand-ins start from a
debootstrap'd Debian rootfs (cached as a tarball): trixie for 3.13 (and for
3.12, with this machine's CPython copied in), forky for 3.14.

Command line (handy for debugging and the benchmark):

    python -m harness.engine ensure [TAG ...]
    python -m harness.engine forget     # as if the suite never ran on this engine
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("start_django.engine")

BASE_IMAGES = (
    "python:3.12-slim-trixie",
    "python:3.13-slim-trixie",
    "python:3.14-slim-trixie",
    "postgres:17",
    "redis:8",
)
STANDIN_LABEL = "org.start-django.standin"
RECIPE_LABEL = "org.start-django.standin.recipe"
PYTHON_VERSION_LABEL = "org.start-django.standin.python-version"
# Images this suite builds or imports are named here; `forget` removes them.
SUITE_REPOSITORIES = (
    "start-django-standin/",
    "start-django-test/",
    "sdt-seaweedfs:",
)  # harness/s3.py


@dataclasses.dataclass(frozen=True)
class Suite:
    """A Debian release a python stand-in is debootstrapped from."""

    name: str
    python: str  # the X.Y of its python3 (checked with apt-cache against its index)
    script: str  # debootstrap's script for it (bookworm's debootstrap predates forky)

    @property
    def rootfs_tag(self) -> str:
        return f"start-django-standin/{self.name}-python3:rootfs"


TRIXIE = Suite("trixie", "3.13", "trixie")
FORKY = Suite("forky", "3.14", "sid")  # Debian testing: python3 3.14.x
SUITES = {suite.python: suite for suite in (TRIXIE, FORKY)}
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

STANDINS = Path(__file__).resolve().parent / "standins"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CACHE = Path(
    os.environ.get("START_DJANGO_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "start-django"
)
ROOTFS_PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
PULL_TIMEOUT = int(os.environ.get("START_DJANGO_PULL_TIMEOUT", "60"))
BUILD_TIMEOUT = 1800


@dataclasses.dataclass(frozen=True)
class ImageSource:
    """Where the image behind a tag comes from."""

    tag: str
    source: str  # "real", "stand-in" or "unavailable"
    detail: str  # the stand-in's label, the real image's id, or why it is unavailable
    seconds: float = 0.0  # time ensure_image() spent (pull or build)

    @property
    def available(self) -> bool:
        return self.source != "unavailable"

    @property
    def standin(self) -> bool:
        return self.source == "stand-in"

    def __str__(self) -> str:
        return f"{self.tag}: {self.source} ({self.detail})"


# --- the engine -------------------------------------------------------------


def _docker(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False, **kw
    )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


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
            result = _docker(*args, timeout=30)
        except subprocess.TimeoutExpired:
            return f"{what}: `docker {' '.join(args)}` timed out (run scripts/bootstrap)"
        if result.returncode != 0:
            return (
                f"{what} not usable: `docker {' '.join(args)}`: "
                f"{_last_line(result.stderr or result.stdout)} (run scripts/bootstrap)"
            )
    return None


def require_engine() -> None:
    """Skip the calling test without an engine, or fail it when CI=true."""
    reason = engine_available()
    if reason is None:
        return
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs a Docker engine: {reason}", pytrace=False)
    pytest.skip(reason)


# --- images -----------------------------------------------------------------


def _inspect(tag: str) -> dict | None:
    result = _docker("image", "inspect", tag)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)[0]


def _labels(info: dict) -> dict[str, str]:
    return (info.get("Config") or {}).get("Labels") or {}


_tls = threading.local()


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One image build at a time across processes (pytest-xdist); re-entrant."""
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
    if tag in ENSURED and (not ENSURED[tag].available or _inspect(tag) is not None):
        return ENSURED[tag]
    start = time.monotonic()
    with _locked():
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
    result = _docker(
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
    for service in compose_config(project, profile, files, env, interpolate=False)[
        "services"
    ].values():
        if build := service.get("build"):
            tags += base_images(Path(build["context"]) / build.get("dockerfile", "Dockerfile"))
        else:
            tags.append(service["image"])
    return ensure_images(*tags)


def _ensure(tag: str) -> ImageSource:
    info = _inspect(tag)
    if info is not None and STANDIN_LABEL not in _labels(info):
        return ImageSource(tag, "real", f"local image {info['Id'][:19]}")
    # The real image first, also over a stand-in left from an earlier run.
    try:
        pulled = _docker("pull", "--quiet", tag, timeout=PULL_TIMEOUT)
    except subprocess.TimeoutExpired:
        log.info("docker pull %s timed out after %ss", tag, PULL_TIMEOUT)
    else:
        if pulled.returncode == 0:
            return ImageSource(tag, "real", f"pulled {pulled.stdout.strip()}")
        log.info("docker pull %s failed: %s", tag, _last_line(pulled.stderr))
    recipe = _recipe(tag)
    if isinstance(recipe, str):
        return ImageSource(tag, "unavailable", recipe)
    if info is not None:
        labels = _labels(info)
        if labels.get(RECIPE_LABEL) == recipe.digest():
            level = logging.INFO if _tls.depth == 1 else logging.DEBUG  # not for bases
            log.log(level, "using stand-in %s: %s", tag, labels[STANDIN_LABEL])
            return ImageSource(tag, "stand-in", labels[STANDIN_LABEL])
        log.info("stand-in %s is out of date (its recipe changed)", tag)
    result = recipe.build()
    if info is not None and result.available:
        _docker("image", "rm", info["Id"])  # fails harmlessly while a container uses it
    return result


@dataclasses.dataclass
class _Recipe:
    """A stand-in built with `docker build` from harness/standins/<directory>."""

    tag: str
    directory: str
    description: str
    base: str  # image the Dockerfile starts FROM (ensured first), or a Suite's rootfs
    build_args: dict[str, str] = dataclasses.field(default_factory=dict)
    python_tree: Path | None = None  # copied into the context as ./python
    suite: Suite | None = None  # set when `base` is that suite's debootstrapped rootfs

    def digest(self) -> str:
        """Changes whenever the recipe's files, arguments or base change.

        The base counts by its image id, after ensure_image() has brought it up
        to date (a rebuilt python stand-in rebuilds postgres and redis); a
        debootstrap rootfs counts by its own recipe, so the stand-ins stay
        valid when only they, not the intermediate rootfs image, are kept.
        """
        h = hashlib.sha256()
        for path in sorted((STANDINS / self.directory).rglob("*")):
            if path.is_file():
                h.update(path.name.encode() + b"\0" + path.read_bytes())
        h.update(json.dumps([self.base, self.build_args, str(self.python_tree)]).encode())
        if self.suite:
            h.update(_rootfs_digest(self.suite).encode())
        elif ensure_image(self.base).available:
            h.update(_inspect(self.base)["Id"].encode())
        return h.hexdigest()[:16]

    def build(self) -> ImageSource:
        build_args = {"BASE": self.base, **self.build_args}
        if not self.suite:
            base = ensure_image(self.base)
            if not base.available:
                return ImageSource(self.tag, "unavailable", f"needs {self.base}: {base.detail}")
        elif reason := _ensure_rootfs(self.suite):
            return ImageSource(self.tag, "unavailable", reason)
        elif "PYTHON_VERSION" not in build_args:  # Debian's python3 in the rootfs
            labels = _labels(_inspect(self.base) or {})
            build_args["PYTHON_VERSION"] = labels.get(PYTHON_VERSION_LABEL, "")
        log.info("building STAND-IN %s: %s", self.tag, self.description)
        logfile = _logfile(self.tag)
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="standin-", dir=CACHE) as tmp:
            context = Path(tmp)
            shutil.copytree(STANDINS / self.directory, context, dirs_exist_ok=True)
            shutil.copyfile(HOST_CA_BUNDLE, context / "host-ca-bundle.crt")
            if self.python_tree:
                shutil.copytree(
                    self.python_tree, context / "python", symlinks=True, ignore=_slim_python
                )
            command = ["docker", "build", "--progress=plain", "--tag", self.tag]
            command += ["--label", f"{STANDIN_LABEL}={self.description}"]
            command += ["--label", f"{RECIPE_LABEL}={self.digest()}"]
            for key, value in build_args.items():
                command += ["--build-arg", f"{key}={value}"]
            ok, tail = _run_logged([*command, str(context)], logfile)
        if not ok:
            reason = f"stand-in build failed: {tail} (log: {logfile})"
            log.warning("%s: %s", self.tag, reason)
            return ImageSource(self.tag, "unavailable", reason)
        log.info("built STAND-IN %s in %.0fs", self.tag, time.monotonic() - start)
        return ImageSource(self.tag, "stand-in", self.description)


def _recipe(tag: str) -> _Recipe | str:
    """How to build an honest stand-in for `tag`, or why there is none."""
    if m := re.fullmatch(r"python:(\d+\.\d+)-slim-trixie", tag):
        return _python_recipe(tag, m[1])
    if m := re.fullmatch(r"(postgres|redis|caddy):(\d+)", tag):
        name, version = m[1], m[2]
        package, trixie_version, what = SERVICES[name]
        if version != trixie_version:
            return f"no stand-in: Debian trixie ships {name} {trixie_version}, not {version}"
        base = f"python:{TRIXIE.python}-slim-trixie"
        return _Recipe(
            tag,
            name,
            f"STAND-IN for {tag}, not the official image: Debian trixie "
            f"{package.format(version=version)} on the {base} image, {what}",
            base=base,
        )
    return "no stand-in recipe for this image and it cannot be pulled"


def _python_recipe(tag: str, version: str) -> _Recipe | str:
    if suite := SUITES.get(version):
        based = "" if suite is TRIXIE else f", {suite.name}-based: trixie ships {TRIXIE.python}"
        return _Recipe(
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
    full = tree.name
    return _Recipe(
        tag,
        "python-from-host",
        f"STAND-IN for {tag}, not the official image: CPython {full} copied from this "
        "machine's pyenv build (compiled on Debian bookworm) into /usr/local on a "
        "Debian trixie minbase rootfs, this machine's CA bundle",
        base=TRIXIE.rootfs_tag,
        build_args={"PYTHON_VERSION": full, "SOURCE_PREFIX": str(tree)},
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


# --- the debootstrap'd rootfs -------------------------------------------------------


def _mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    return "http://deb.debian.org/debian"


def _rootfs_digest(suite: Suite) -> str:
    key = json.dumps([suite.name, "minbase", ROOTFS_PACKAGES, _mirror(), _SLIM_DPKG])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _ensure_rootfs(suite: Suite) -> str | None:
    """Import the cached rootfs of `suite` as its rootfs tag; None on success, else why not."""
    mirror = _mirror()
    digest = _rootfs_digest(suite)
    info = _inspect(suite.rootfs_tag)
    if info is not None and _labels(info).get(RECIPE_LABEL) == digest:
        return None
    tarball = CACHE / f"rootfs-{suite.name}-minbase-python3-{digest}.tar"
    version_file = tarball.with_suffix(".python-version")
    missing = not (tarball.exists() and version_file.exists())
    if missing and (reason := _debootstrap(suite, tarball, version_file, mirror)):
        return reason
    python_version = version_file.read_text().strip()
    description = (
        f"STAND-IN rootfs: debootstrap --variant=minbase {suite.name} "
        f"({' '.join(ROOTFS_PACKAGES)}) from {mirror}"
    )
    changes = [
        f"LABEL {STANDIN_LABEL}={json.dumps(description)}",
        f"LABEL {RECIPE_LABEL}={digest}",
        f"LABEL {PYTHON_VERSION_LABEL}={python_version}",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        'CMD ["bash"]',
    ]
    command = ["docker", "import"]
    for change in changes:
        command += ["--change", change]
    ok, tail = _run_logged([*command, str(tarball), suite.rootfs_tag], _logfile(suite.rootfs_tag))
    return None if ok else f"docker import of the {suite.name} rootfs failed: {tail}"


_SLIM_DPKG = """\
# Like Debian's slim container images: no documentation, man pages or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""


def _debootstrap(suite: Suite, tarball: Path, version_file: Path, mirror: str) -> str | None:
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    if not Path(debootstrap).exists():
        return "debootstrap is not installed (run scripts/bootstrap)"
    if os.geteuid() != 0:
        return "debootstrap needs root"
    script = Path("/usr/share/debootstrap/scripts") / suite.name
    if not script.exists():  # an older debootstrap: the newest script it has fits
        script = script.with_name(suite.script)
    logfile = _logfile(f"debootstrap-{suite.name}")
    log.info("debootstrap %s rootfs for the STAND-INs (log: %s)", suite.name, logfile)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=CACHE) as tmp:
        rootfs = Path(tmp) / "rootfs"
        try:
            ok, tail = _run_logged(
                [
                    debootstrap,
                    "--variant=minbase",
                    f"--include={','.join(ROOTFS_PACKAGES)}",
                    suite.name,
                    str(rootfs),
                    mirror,
                    str(script),
                ],
                logfile,
            )
            if not ok:
                return f"debootstrap {suite.name} failed: {tail} (log: {logfile})"
            version = _dpkg_version(rootfs, f"python{suite.python}")
            if not version:
                return f"debootstrap {suite.name}: no python{suite.python} in the rootfs"
            # What Debian's own container images add: no service starts, slim dpkg.
            policy = rootfs / "usr/sbin/policy-rc.d"
            policy.write_text("#!/bin/sh\nexit 101\n")
            policy.chmod(0o755)
            (rootfs / "etc/dpkg/dpkg.cfg.d/docker-slim").write_text(_SLIM_DPKG)
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for path in (rootfs / junk).glob("*"):
                    if path.is_file():
                        path.unlink()
            partial = tarball.with_suffix(".partial")
            ok, tail = _run_logged(
                ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], logfile
            )
            if not ok:
                return f"packing the {suite.name} rootfs failed: {tail}"
            partial.rename(tarball)
            version_file.write_text(version + "\n")
        finally:
            _unmount_below(rootfs)
    log.info("debootstrap %s done in %.0fs", suite.name, time.monotonic() - start)
    return None


def _dpkg_version(rootfs: Path, package: str) -> str:
    """Upstream version of an installed package, e.g. 3.13.5 for python3.13."""
    status = (rootfs / "var/lib/dpkg/status").read_text()
    for stanza in status.split("\n\n"):
        if re.search(rf"^Package: {re.escape(package)}$", stanza, re.MULTILINE) and (
            m := re.search(r"^Version: (?:\d+:)?([^-+~\s]+)", stanza, re.MULTILINE)
        ):
            return m[1]
    return ""


def _unmount_below(path: Path) -> None:
    """debootstrap mounts /proc etc. in the target; never delete through a mount."""
    prefix = str(path) + "/"
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, reverse=True):
        subprocess.run(["umount", "-l", point], check=False)


# --- images the tests build from the generated projects -------------------------


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
    """`docker image inspect`'s Config (User, Env, Cmd, Healthcheck, ...) and Size."""
    info = _inspect(tag)
    if info is None:
        raise LookupError(f"no image {tag}")
    return {**(info.get("Config") or {}), "Size": info.get("Size", 0)}


def image_size(tag: str) -> int:
    return image_config(tag)["Size"]


def image_id(tag: str) -> str | None:
    info = _inspect(tag)
    return info["Id"] if info else None


SQLITE_MAGIC = b"SQLite format 3\0"


@dataclasses.dataclass(frozen=True)
class LayerFile:
    layer: str  # the layer's name in `docker save` output
    path: str
    head: bytes  # the first 16 bytes (regular files only)


def layer_files(tag: str) -> Iterator[LayerFile]:
    """Every member of every layer of `tag`, read from `docker save` (streamed, not unpacked).

    Handles both the classic layout (`<id>/layer.tar`, engine 20.10) and the OCI layout
    (`blobs/sha256/<digest>`) newer engines write; blobs that are not tars are skipped.
    """
    import tarfile

    save = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=save.stdout, mode="r|") as outer:
            for member in outer:
                if not member.isfile():
                    continue
                if not (member.name.endswith("layer.tar") or member.name.startswith("blobs/")):
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
        _docker("image", "rm", "--force", *tags, timeout=120)


# Compose projects, containers and volumes the suite starts are all named sdt-<session>-...
SUITE_PREFIX = "sdt-"


def forget() -> list[str]:
    """Remove what this suite leaves on the engine and the machine, as if it never ran here:
    its containers and volumes, the base images (stand-in or real), the images it built or
    imported, the build cache (uv's and pip's cache mounts included), and its cache folder
    (debootstrap tarballs, renders, logs). Other images on the engine are left alone."""
    done = []
    # Swarm stacks (tests/test_swarm.py) first: their services would start new containers.
    stacks = [name for name in _docker("stack", "ls", "--format", "{{.Name}}").stdout.split()
              if name.startswith(SUITE_PREFIX)]  # fmt: skip
    for name in stacks:
        _docker("stack", "rm", "--detach=false", name, timeout=300)
    secrets = [name for name in _docker("secret", "ls", "--format", "{{.Name}}").stdout.split()
               if name.startswith(SUITE_PREFIX)]  # fmt: skip
    if secrets:
        _docker("secret", "rm", *secrets)
    if stacks or secrets:
        done.append(f"{len(stacks)} swarm stacks, {len(secrets)} secrets")
    containers = _docker("ps", "--all", "--quiet", "--filter", f"name=^{SUITE_PREFIX}").stdout
    if containers.split():
        _docker("rm", "--force", "--volumes", *containers.split(), timeout=300)
        done.append(f"{len(containers.split())} containers")
    volumes = [v for v in _docker("volume", "ls", "--quiet").stdout.split()
               if v.startswith(SUITE_PREFIX)]  # fmt: skip
    if volumes:
        _docker("volume", "rm", "--force", *volumes, timeout=300)
        done.append(f"{len(volumes)} volumes")
    listing = _docker(
        "image", "ls", "--all", "--format",
        '{{.ID}} {{.Repository}}:{{.Tag}} {{.Label "com.docker.compose.project"}}',
    ).stdout  # fmt: skip
    images = set()
    for line in listing.splitlines():
        image_id, ref, *project = line.split()
        if (
            ref in BASE_IMAGES
            or ref.startswith((*SUITE_REPOSITORIES, SUITE_PREFIX))
            or (project and project[0].startswith(SUITE_PREFIX))
        ):
            images.add(image_id)
    images |= set(
        _docker("image", "ls", "--quiet", "--filter", f"label={STANDIN_LABEL}").stdout.split()
    )
    if images:
        _docker("image", "rm", "--force", *sorted(images), timeout=600)
        done.append(f"{len(images)} images")
    _docker("image", "prune", "--force", timeout=600)
    _docker("builder", "prune", "--all", "--force", timeout=600)
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
        result = _docker(*args)
        facts[key] = result.stdout.strip() if result.returncode == 0 else "unknown"
    return facts


# --- helpers ------------------------------------------------------------------


def _logfile(name: str) -> Path:
    directory = CACHE / "logs"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / (re.sub(r"[^A-Za-z0-9.-]+", "_", name) + ".log")


def _run_logged(command: list[str], logfile: Path) -> tuple[bool, str]:
    """Run a long command with its output in logfile; (succeeded, last output line)."""
    with open(logfile, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        try:
            result = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            return False, f"timed out after {BUILD_TIMEOUT}s"
    if result.returncode == 0:
        return True, ""
    lines = logfile.read_text(errors="replace").strip().splitlines()
    return False, " | ".join(lines[-3:])


def main(argv: list[str]) -> int:
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
    results = [ensure_image(tag) for tag in argv[1:] or BASE_IMAGES]
    width = max(len(r.tag) for r in results)
    print(f"{'TAG':<{width}}  {'SOURCE':<11}  {'SECONDS':>7}  DETAIL")
    for r in results:
        print(f"{r.tag:<{width}}  {r.source:<11}  {r.seconds:>7.1f}  {r.detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
