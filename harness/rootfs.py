"""The debootstrapped Debian rootfs the python stand-ins start from (harness/standins.py):
`debootstrap --variant=minbase` of a suite with python3, slimmed as Debian's container images
are, cached as a tarball (keyed by the suite, its packages, this machine's mirror and the dpkg
excludes) and imported as an image labelled a stand-in.
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

log = logging.getLogger("start_django.standins")

ROOTFS_PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")


@dataclasses.dataclass(frozen=True)
class Suite:
    """A Debian release a python stand-in is debootstrapped from."""

    name: str
    python: str  # the X.Y of its python3
    script: str  # debootstrap's script for it (bookworm's debootstrap predates forky)

    @property
    def rootfs_tag(self) -> str:
        return f"start-django-standin/{self.name}-python3:rootfs"


TRIXIE = Suite("trixie", "3.13", "trixie")
FORKY = Suite("forky", "3.14", "sid")  # Debian testing: python3 3.14.x
SUITES = {suite.python: suite for suite in (TRIXIE, FORKY)}


def mirror() -> str:
    """The Debian mirror this machine is configured with (never a hard-coded one)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    return "http://deb.debian.org/debian"


SLIM_DPKG = """\
# Like Debian's slim container images: no documentation, man pages or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""


def rootfs_digest(suite: Suite) -> str:
    key = json.dumps([suite.name, "minbase", ROOTFS_PACKAGES, mirror(), SLIM_DPKG])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def ensure_rootfs(suite: Suite) -> str | None:
    """Import the cached rootfs of `suite` as its rootfs tag; None on success, else why not."""
    digest = rootfs_digest(suite)
    info = image_info(suite.rootfs_tag)
    if info is not None and labels(info).get(RECIPE_LABEL) == digest:
        return None
    tarball = CACHE / f"rootfs-{suite.name}-minbase-python3-{digest}.tar"
    version_file = tarball.with_suffix(".python-version")
    missing = not (tarball.exists() and version_file.exists())
    if missing and (reason := _debootstrap(suite, tarball, version_file)):
        return reason
    description = (
        f"STAND-IN rootfs: debootstrap --variant=minbase {suite.name} "
        f"({' '.join(ROOTFS_PACKAGES)}) from {mirror()}"
    )
    changes = [
        f"LABEL {STANDIN_LABEL}={json.dumps(description)}",
        f"LABEL {RECIPE_LABEL}={digest}",
        f"LABEL {PYTHON_VERSION_LABEL}={version_file.read_text().strip()}",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        'CMD ["bash"]',
    ]
    command = ["docker", "import"]
    for change in changes:
        command += ["--change", change]
    ok, tail = run_logged([*command, str(tarball), suite.rootfs_tag], logfile(suite.rootfs_tag))
    return None if ok else f"docker import of the {suite.name} rootfs failed: {tail}"


def _debootstrap(suite: Suite, tarball: Path, version_file: Path) -> str | None:
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    if not Path(debootstrap).exists():
        return "debootstrap is not installed (run scripts/bootstrap)"
    if os.geteuid() != 0:
        return "debootstrap needs root"
    script = Path("/usr/share/debootstrap/scripts") / suite.name
    if not script.exists():  # an older debootstrap: the newest script it has fits
        script = script.with_name(suite.script)
    log_path = logfile(f"debootstrap-{suite.name}")
    log.info("debootstrap %s rootfs for the STAND-INs (log: %s)", suite.name, log_path)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=CACHE) as tmp:
        rootfs = Path(tmp) / "rootfs"
        try:
            ok, tail = run_logged(
                [debootstrap, "--variant=minbase", f"--include={','.join(ROOTFS_PACKAGES)}",
                 suite.name, str(rootfs), mirror(), str(script)],
                log_path,
            )  # fmt: skip
            if not ok:
                return f"debootstrap {suite.name} failed: {tail} (log: {log_path})"
            version = _dpkg_version(rootfs, f"python{suite.python}")
            if not version:
                return f"debootstrap {suite.name}: no python{suite.python} in the rootfs"
            # What Debian's own container images add: no service starts, slim dpkg.
            policy = rootfs / "usr/sbin/policy-rc.d"
            policy.write_text("#!/bin/sh\nexit 101\n")
            policy.chmod(0o755)
            (rootfs / "etc/dpkg/dpkg.cfg.d/docker-slim").write_text(SLIM_DPKG)
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for path in (rootfs / junk).glob("*"):
                    if path.is_file():
                        path.unlink()
            partial = tarball.with_suffix(".partial")
            ok, tail = run_logged(
                ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], log_path
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
