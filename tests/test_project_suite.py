"""The generated project's own test suite passes for each distinct runtime configuration
(database x broker x litestream), installed from its own uv lock, against real servers:
a PostgreSQL and a Redis started for the session, a real huey consumer process (the
project's suite starts one when there is a worker), and for PostgreSQL, the set-up that runs
several replicas, media in a bucket of a real S3 server (SQLite runtimes keep them on disk,
so both storages are exercised)."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from harness.commands import run, uv_env
from harness.projects import lock
from harness.renders import digest
from harness.runtimes import data_runtimes

RUNTIMES = data_runtimes()


@pytest.mark.services
@pytest.mark.parametrize("runtime", RUNTIMES, ids=lambda r: r.id)
def test_generated_suite_passes_against_real_services(runtime, project_copy, request, tmp_path):
    profile, broker = runtime.profile, runtime.broker
    project = project_copy(runtime.combo)
    lock(project)  # `just lock`, made once per pyproject.toml
    src = project / "src"
    env = {**uv_env(), "CI": "true"}  # in CI mode the project's suite fails instead of skipping
    result = run(["uv", "sync", "--locked"], cwd=src, env=env)
    assert result.returncode == 0, result.output

    name = "suite_" + digest(runtime.id)
    if profile == "pg":
        base = request.getfixturevalue("postgres_url").rsplit("/", 1)[0]
        env["DATABASE_URL"] = f"{base}/{name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        env["TEST_SQLITE_PATH"] = str(tmp_path / "test.sqlite3")
    if broker == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    elif broker == "sqlite":
        env["HUEY_SQLITE_PATH"] = str(tmp_path / "huey.sqlite3")

    if profile == "pg":
        s3 = request.getfixturevalue("s3")
        env.update(
            BUCKET_NAME=s3.create_bucket(name.replace("_", "-")),
            AWS_ENDPOINT_URL_S3=s3.endpoint,
            AWS_REGION=s3.region,
            AWS_ACCESS_KEY_ID=s3.access_key,
            AWS_SECRET_ACCESS_KEY=s3.secret_key,
        )

    report = tmp_path / "report.xml"
    result = run(
        ["uv", "run", "--locked", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=src,
        env=env,
    )
    assert result.returncode == 0, result.output
    cases = {case.get("name"): case for case in ElementTree.parse(report).iter("testcase")}
    not_passed = [name for name, case in cases.items() if len(case)]  # failure/skipped/error
    assert cases and not not_passed, result.output
    assert "test_an_attachment_is_uploaded_and_read_back_through_the_storage" in cases
    if broker != "none":
        assert "test_a_real_consumer_does_the_task_the_page_enqueued_and_keeps_no_record" in cases
