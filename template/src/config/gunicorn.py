"""gunicorn's settings (scripts/web.sh runs `gunicorn -c config/gunicorn.py config.wsgi`).

Environment: PORT (required), WEB_CONCURRENCY (worker processes, default 2).
"""

import os

from gunicorn.glogging import Logger

bind = f"0.0.0.0:{os.environ['PORT']}"
workers = int(os.environ.get("WEB_CONCURRENCY", 2))
# The request line and headers are bounded (gunicorn's limits, said here so they are seen):
# a longer line is refused with 414, more or longer header fields with 400. The body's limit
# is the app's (config/settings.py, REQUEST_BODY_MAX_BYTES).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# A worker is replaced after about a thousand requests (staggered by the jitter, so they do not
# all restart at once): a slow leak in the app or a library never grows without bound.
max_requests = 1000
max_requests_jitter = 100
# Heartbeat files in memory, not on the container's overlay disk (a private mount, not /tmp).
worker_tmp_dir = "/dev/shm"  # noqa: S108
control_socket_disable = True  # nothing manages gunicorn over a socket in a container
capture_output = True
enable_stdio_inheritance = True
accesslog = "-"
# The client's address as Fly's proxy reports it (Fly-Client-IP), then the peer's.
access_log_format = '%({fly-client-ip}i)s %(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


class AccessLogWithoutHealthChecks(Logger):
    """The health checks call /alive/ and /health/ every few seconds: not traffic to log."""

    def access(self, resp, req, environ, request_time) -> None:
        if environ.get("PATH_INFO") not in {"/alive/", "/health/"}:
            super().access(resp, req, environ, request_time)


logger_class = AccessLogWithoutHealthChecks
