"""HTTP from the host to a published port on 127.0.0.1 (never another address): one request
function, the app's pages and forms as a browser uses them, and `Load`, the one load
generator of the tests and scripts/benchmark (bounded in requests and seconds)."""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Self
from urllib.parse import urlencode


def send(port: int, method: str, path: str, headers: dict | None = None,
         body: bytes | str | None = None, origin: str | None = None, timeout: float = 10):  # fmt: skip
    """One request to 127.0.0.1:port for the site at `origin`: by default as the browser on
    this machine sends it (http://localhost:port); an https origin as a TLS-terminating proxy
    (Fly's) forwards it: Host from the origin, X-Forwarded-Proto: https.
    Returns (status, headers, body bytes)."""
    scheme, host = (origin or f"http://localhost:{port}").split("://")
    sent = {"Host": host, **({"X-Forwarded-Proto": "https"} if scheme == "https" else {})}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={**sent, **(headers or {})})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def request(port: int, method: str, path: str, headers=None, body=None, origin=None):
    """send(), the body decoded: (status, headers, text)."""
    status, headers, content = send(port, method, path, headers, body, origin)
    return status, headers, content.decode(errors="replace")


def get(port: int, path: str = "/", origin: str | None = None):
    return request(port, "GET", path, origin=origin)


def download(port: int, path: str, origin: str | None = None) -> tuple[int, bytes]:
    status, _, content = send(port, "GET", path, timeout=30, origin=origin)
    return status, content


def health(port: int, path: str = "/health/", token: str | None = None) -> tuple[int, dict]:
    """/health/'s status and document; with the environment's HEALTH_TOKEN, its checks too."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, _, text = request(port, "GET", path, headers=headers)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, {"unparsed": text[:300]}


def healthy(port: int, path: str = "/health/") -> dict | None:
    """The /health/ document when it answers 200 with the status "ok" (every dependency ok),
    else None (also when nothing answers)."""
    try:
        status, document = health(port, path)
    except (OSError, http.client.HTTPException):
        return None
    return document if status == 200 and document.get("status") == "ok" else None


def post_form(port: int, fields: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None,
              path: str = "/", origin: str | None = None) -> tuple[int, str, dict[str, str]]:  # fmt: skip
    """GET the form page, then POST it as a browser does: the CSRF cookie and token, Origin
    and Referer; multipart when there are files (name -> (filename, bytes)). The csrftoken
    cookie is Secure (production settings), so a cookie jar would not send it over http: the
    Cookie header is set by hand. Returns the POST's status, text and the cookies it set."""
    status, headers, page = get(port, path, origin)
    assert status == 200, f"GET {path} answered {status}: {page[:500]}"
    cookies = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        cookies.load(value)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token and "csrftoken" in cookies, "no CSRF cookie or token on the page"
    origin = origin or f"http://localhost:{port}"
    fields = {"csrfmiddlewaretoken": token[1], **fields}
    if files:
        boundary = f"form-{os.urandom(8).hex()}"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        for name, (filename, content) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                + content + b"\r\n"
            )  # fmt: skip
        body, kind = (
            b"".join(parts) + f"--{boundary}--\r\n".encode(),
            f"multipart/form-data; boundary={boundary}",
        )
    else:
        body, kind = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    status, answered, content = send(
        port, "POST", path, origin=origin, timeout=30, body=body,
        headers={"Cookie": f"csrftoken={cookies['csrftoken'].value}", "Origin": origin,
                 "Referer": f"{origin}{path}", "Content-Type": kind},
    )  # fmt: skip
    given = {}
    for value in answered.get_all("Set-Cookie") or []:
        given |= {name: morsel.value for name, morsel in SimpleCookie(value).items()}
    return status, content.decode(errors="replace"), given


def post_entry(port: int, title: str, body: str, origin: str | None = None) -> None:
    """Create an entry through the app's form."""
    status, text, _ = post_form(port, {"title": title, "body": body}, origin=origin)
    assert status == 302, f"POST / answered {status}, expected a redirect: {text[:800]}"


def post_attachment(port: int, title: str, filename: str, content: bytes,
                    origin: str | None = None) -> None:  # fmt: skip
    """Create an entry with an attachment through the form (multipart/form-data)."""
    status, text, _ = post_form(
        port,
        {"title": title, "body": ""},
        files={"attachment": (filename, content)},
        origin=origin,
    )
    assert status == 302, f"POST / answered {status}: {text[:800]}"


def logs_in(port: int, username: str, password: str, origin: str | None = None,
             login: str = "/admin/login/", landing: str = "/admin/") -> bool:  # fmt: skip
    """Sign in through the login form as a browser does, then open the landing page with the
    session cookie it set: True when that page answers 200 as the signed-in user."""
    fields = {"username": username, "password": password, "next": landing}
    status, _, cookies = post_form(port, fields, path=login, origin=origin)
    if status != 302 or "sessionid" not in cookies:
        return False
    status, _, page = request(port, "GET", landing, origin=origin,
                              headers={"Cookie": f"sessionid={cookies['sessionid']}"})  # fmt: skip
    return status == 200 and username in page


def words(port: int, title: str, origin: str | None = None) -> int | None | bool:
    """On the list page: the entry's word count once processed, None while pending,
    False when the entry is not listed."""
    status, _, page = get(port, "/", origin)
    if status != 200:
        return False
    match = re.search(
        rf"<strong>{re.escape(title)}</strong>\s*<span class=\"(processed|pending)\">([^<]*)<",
        page,
    )
    if match is None:
        return False
    if match[1] == "pending":
        return None
    return int(match[2].split()[0])


@dataclass
class Answer:
    started: float
    seconds: float
    status: int  # 0: no HTTP answer at all


@dataclass
class Load:
    """GET `path` from `threads` threads back to back (a pause of `pause` s between one
    thread's requests), from entering the block until leaving it, or `limit` requests, or
    `max_seconds`: whichever comes first."""

    port: int
    threads: int = 4
    pause: float = 0.02
    limit: int = 20000
    max_seconds: float = 300
    path: str = "/"
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._issued = 0
        self._workers = [
            threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)
        ]

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if self._issued >= self.limit:
                    return
                self._issued += 1
            started = time.monotonic()
            try:
                status = send(self.port, "GET", self.path, timeout=15)[0]
            except (OSError, http.client.HTTPException):
                status = 0
            with self._lock:
                self.answers.append(Answer(started, time.monotonic() - started, status))
            if self.pause:
                self._stop.wait(self.pause)

    def __enter__(self) -> Self:
        self.started = time.monotonic()
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)
        self.ended = time.monotonic()

    def run(self) -> dict:
        """The whole load, from start to its limit: its summary."""
        with self:
            for worker in self._workers:
                worker.join()
        return self.summary(self.answers, self.ended - self.started)

    def running(self) -> bool:
        """Still sending: some thread alive and not past its bounds."""
        return any(worker.is_alive() for worker in self._workers)

    def between(self, start: float, end: float = float("inf")) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if start <= a.started <= end]

    @staticmethod
    def summary(answers: list[Answer], seconds: float | None = None) -> dict:
        ok = sorted(a.seconds for a in answers if a.status == 200)

        def quantile(q: float) -> float | None:
            return round(ok[max(int(len(ok) * q) - 1, 0)] * 1000, 1) if ok else None

        summary = {
            "sent": len(answers),
            "failed": sum(1 for a in answers if a.status != 200),
            "statuses": sorted({a.status for a in answers}),
            "p50_ms": quantile(0.5),
            "p95_ms": quantile(0.95),
        }
        if seconds:
            summary["rps"] = len(ok) / seconds
        return summary
