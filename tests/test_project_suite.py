"""The generated project's own test suite passes for each distinct runtime configuration
(database x broker x litestream), installed from its own uv lock, against real servers:
a PostgreSQL and a Redis started for the session, a real huey consumer process (the
project's suite starts one when there is a worker), and for PostgreSQL, the set-up that runs
several replicas, media in a bucket of a real S3 server (SQLite runtimes keep them on disk,
so both storages are exercised)."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from harness.combinations import Combination, all_combinations, one
from harness.commands import run, uv_env
from harness.renders import digest
from harness.stacks import lock


def runtime_key(combo: Combination, profile: str) -> tuple:
    broker = combo.get("worker_broker") if combo.use_huey else "none"
    return (profile, broker, combo.use_litestream if profile == "sq" else False)


def runtimes() -> list[tuple[tuple, Combination]]:
    """Each distinct runtime, with the combination closest to the defaults that has it."""
    keys = sorted({runtime_key(c, p) for c in all_combinations() for p in c.profiles})
    chosen = []
    for profile, broker, litestream in keys:
        wanted = {"database": "postgres" if profile == "pg" else "sqlite"}
        wanted["worker"] = "none" if broker == "none" else "huey"
        if broker != "none":
            wanted["worker_broker"] = broker
        if profile == "sq":
            wanted["litestream"] = litestream
        chosen.append(((profile, broker, litestream), one(**wanted)))
    return chosen


RUNTIMES = runtimes()


@pytest.mark.services
@pytest.mark.parametrize(
    ("key", "combo"),
    RUNTIMES,
    ids=[f"{p}-broker_{b}" + ("-litestream" if lit else "") for (p, b, lit), _ in RUNTIMES],
)
def test_generated_suite_passes_against_real_services(key, combo, project_copy, request, tmp_path):
    profile, broker, _ = key
    project = project_copy(combo)
    lock(project)  # `just lock`, made once per pyproject.toml
    src = project / "src"
    env = {**uv_env(), "CI": "true"}  # in CI mode the project's suite fails instead of skipping
    result = run(["uv", "sync", "--locked"], cwd=src, env=env)
    assert result.returncode == 0, result.output

    name = "suite_" + digest(repr(key))
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
