"""Media in object storage, for real (issue 12): a PostgreSQL project's stack with a bucket
configured keeps uploads in S3, where every replica reads them, and not on the container's
disk. The S3 server is SeaweedFS in the harness's local image (harness/s3service.py), a service on
the stack's own network, reached by name as Tigris is reached by URL on Fly."""

from __future__ import annotations

import re

import pytest

from harness.combinations import one
from harness.commands import free_port, require, run
from harness.engine import require_engine
from harness.http import download, get, healthy, post_attachment, writer
from harness.projects import prepare
from harness.s3 import S3, missing_weed
from harness.s3service import S3_IMAGE, S3_PORT, bucket_env, s3_service
from harness.stacks import Stack, suite_name, timed

pytestmark = pytest.mark.docker

BUCKET = "media-bucket"


@pytest.fixture(scope="module")
def stack(render, tmp_path_factory):
    """The project's compose.yaml plus the override a team adds for object storage: the
    S3 service, and the bucket's settings for web and worker."""
    require_engine()
    require(missing_weed())
    combo = one(database="postgres", worker="huey", worker_broker="redis", secrets="dotenv")
    project = prepare(render(combo), tmp_path_factory.mktemp("media") / "project")
    s3_port = free_port()
    with timed("media: the S3 image"):
        s3 = s3_service(s3_port) | {"profiles": ["pg"]}
    wiring = {
        "environment": bucket_env(BUCKET),
        "depends_on": {"s3": {"condition": "service_healthy"}},
    }
    override = {"services": {"s3": s3, "web-pg": wiring, "worker-pg": wiring}}
    stack = Stack(project, suite_name("media"), "pg", override)
    stack.s3_port = s3_port
    yield stack
    stack.remove()


def test_an_upload_goes_to_the_bucket_and_not_to_the_containers_disk(stack):
    with timed("media: up --build --wait (pg + S3)"):
        stack.up(build=True)
    assert healthy(stack.port), stack.logs()[-3000:]
    s3 = S3(f"http://127.0.0.1:{stack.s3_port}").client()
    s3.create_bucket(Bucket=BUCKET)

    content = b"a file every replica must see\n" + bytes(range(256)) * 64
    session = writer(stack.port, stack.manage)
    post_attachment(stack.port, "entry with a file", "report.txt", content, session)

    # In the bucket, under media/ (its location), byte for byte.
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    keys = [item["Key"] for item in listed]
    assert len(keys) == 1 and re.fullmatch(
        r"media/attachments/\d{4}/\d{2}/report.*\.txt", keys[0]
    ), keys
    assert s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read() == content

    # Not on the web container's disk (MEDIA_ROOT, the media volume), nor anywhere under /app.
    found = stack.exec(
        stack.web, "sh", "-c", "find /app/src/mediafiles /tmp -type f -name 'report*'"
    )
    assert found.returncode == 0 and found.stdout.strip() == "", found.output

    # The page links it for its writer, and the link redirects to a URL the bucket signed,
    # which serves it (followed to the S3 service's published port).
    status, _, page = get(stack.port, "/", session=session)
    link = re.search(
        r'<a class="attachment" href="(/entries/\d+/attachment/)">report[^<]*\.txt<', page
    )
    assert status == 200 and link, page[-2000:]
    bucket = {f"s3:{S3_PORT}": stack.s3_port}
    status, body = download(stack.port, link[1], session, resolve=bucket)
    assert status == 200 and body == content
    # Without a signed-in session: sent to the sign-in page (a relative redirect), not to the
    # bucket (download() would follow that one, and fail here without `resolve`).
    assert download(stack.port, link[1], "not-a-session") == (302, b"")

    # With the object gone from the bucket, the app has nothing to serve: it came from there.
    s3.delete_object(Bucket=BUCKET, Key=keys[0])
    status, _ = download(stack.port, link[1], session, resolve=bucket)
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
