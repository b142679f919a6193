"""The production settings as they are, plus the raising view of tests/urls.py: what the
error-path tests run a separate process with (tests/test_errors.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.urls"
