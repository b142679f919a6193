"""Media in object storage, for real (issue 12): a PostgreSQL project's stack with a bucket
configured keeps uploads in S3, where every replica reads them, and not on the container's
disk. The S3 server is SeaweedFS in the harness's local image (harness/s3.py), a service on
the stack's own network, reached by name as Tigris is reached by URL on Fly."""

from __future__ import annotations

import re

import pytest

from harness.combinations import one
from harness.commands import free_port, run
from harness.engine import require_engine
from harness.s3 import (
    S3,
    S3_ACCESS_KEY,
    S3_IMAGE,
    S3_PORT,
    S3_REGION,
    S3_SECRET_KEY,
    ensure_s3_image,
    require_weed,
)
from harness.stacks import TOKEN, Stack, download, get, healthy, post_attachment, prepare, timed

pytestmark = pytest.mark.docker

BUCKET = "media-bucket"
OVERRIDE = "compose.s3.yaml"


def override() -> str:
    """The compose file a team would add for object storage: the names `fly storage create`
    sets, pointing at the S3 service by its name on the stack's network."""
    return f"""\
services:
  s3:
    image: {S3_IMAGE}
    profiles: [pg]
    ports: ["127.0.0.1:${{S3_HOST_PORT:?}}:{S3_PORT}"]
  web-pg:
    environment: &bucket
      BUCKET_NAME: {BUCKET}
      AWS_ENDPOINT_URL_S3: http://s3:{S3_PORT}
      AWS_REGION: {S3_REGION}
      AWS_ACCESS_KEY_ID: {S3_ACCESS_KEY}
      AWS_SECRET_ACCESS_KEY: {S3_SECRET_KEY}
    depends_on:
      s3:
        condition: service_healthy
  worker-pg:
    environment: *bucket
"""


class BucketStack(Stack):
    """The project's compose.yaml plus the object-storage override."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.s3_port = free_port()

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "COMPOSE_FILE": f"compose.yaml:{OVERRIDE}",
            "S3_HOST_PORT": str(self.s3_port),
        }


@pytest.fixture(scope="module")
def stack(render, tmp_path_factory):
    require_engine()
    require_weed()
    with timed("media: the S3 image"):
        ensure_s3_image()
    combo = one(database="postgres", worker="huey", worker_broker="redis", secrets="dotenv")
    project = prepare(render(combo), tmp_path_factory.mktemp("media") / "project")
    stack = BucketStack(project, f"sdt-{TOKEN}-media", "pg")
    (project / OVERRIDE).write_text(override())
    yield stack
    stack.remove()


def test_an_upload_goes_to_the_bucket_and_not_to_the_containers_disk(stack):
    with timed("media: up --build --wait (pg + S3)"):
        stack.up(build=True)
    assert healthy(stack.port), stack.logs()[-3000:]
    s3 = S3(f"http://127.0.0.1:{stack.s3_port}").client()
    s3.create_bucket(Bucket=BUCKET)

    content = b"a file every replica must see\n" + bytes(range(256)) * 64
    post_attachment(stack.port, "entry with a file", "report.bin", content)

    # In the bucket, under media/ (its location), byte for byte.
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    keys = [item["Key"] for item in listed]
    assert len(keys) == 1 and re.fullmatch(
        r"media/attachments/\d{4}/\d{2}/report.*\.bin", keys[0]
    ), keys
    assert s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read() == content

    # Not on the web container's disk (MEDIA_ROOT, the media volume), nor anywhere under /app.
    found = stack.exec(
        stack.web, "sh", "-c", "find /app/src/mediafiles /tmp -type f -name 'report*'"
    )
    assert found.returncode == 0 and found.stdout.strip() == "", found.output

    # The page links it, and the app serves it back from the bucket.
    status, _, page = get(stack.port, "/")
    link = re.search(
        r'<a class="attachment" href="(/entries/\d+/attachment/)">report[^<]*\.bin<', page
    )
    assert status == 200 and link, page[-2000:]
    status, body = download(stack.port, link[1])
    assert status == 200 and body == content

    # With the object gone from the bucket, the app has nothing to serve: it came from there.
    s3.delete_object(Bucket=BUCKET, Key=keys[0])
    status, _ = download(stack.port, link[1])
    assert status == 404, status


def test_the_s3_image_refuses_other_keys(stack):
    """The image accepts its one key pair only: an app sent without the right keys fails
    rather than writing anonymously (as a real provider would refuse it)."""
    from botocore.exceptions import ClientError

    if not healthy(stack.port):
        stack.up(build=True)
    wrong = S3(f"http://127.0.0.1:{stack.s3_port}", secret_key="not-the-secret").client()
    with pytest.raises(ClientError) as refused:
        wrong.list_objects_v2(Bucket=BUCKET)
    assert refused.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied"}
    labels = run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", S3_IMAGE])
    assert "not the official" in labels.stdout, labels.output
