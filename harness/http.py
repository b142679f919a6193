"""HTTP from the host to a published port on 127.0.0.1 (never another address): one request
function, the app's pages and forms as a browser uses them, and `Load`, the one load
generator of the tests and scripts/benchmark (bounded in requests and seconds)."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Self
from urllib.parse import urlencode, urlsplit


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


def get(port: int, path: str = "/", origin: str | None = None, session: str | None = None):
    """GET as a visitor, or as the user whose `session` (sessionid cookie) is given."""
    signed = {"Cookie": f"sessionid={session}"} if session else None
    return request(port, "GET", path, signed, origin=origin)


def oversized_post(port: int, length: int, send_body: bool = True) -> tuple[int, str]:
    """POST / announcing a body of `length` bytes, and the answer: (status, text). The body
    is sent from a thread while the answer is read (a server may stop reading at its limit:
    the send then fails, as it may), or never, as a client that waits for the verdict."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(
            f"POST / HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n".encode()
        )

        def body() -> None:
            block = b"x" * 65536
            try:
                for sent in range(0, length, len(block)):
                    conn.sendall(block[: length - sent])
            except OSError:
                pass

        if send_body:
            threading.Thread(target=body, daemon=True).start()
        answer = http.client.HTTPResponse(conn)
        answer.begin()
        return answer.status, answer.read().decode(errors="replace")


def download(port: int, path: str, session: str, origin: str | None = None,
             resolve: dict[str, int] | None = None) -> tuple[int, bytes]:  # fmt: skip
    """GET an attachment as the signed-in user; a redirect to a bucket's signed URL is
    followed, to 127.0.0.1 at the port `resolve` gives its host:port (curl's --resolve: the
    Host header, which the signature covers, stays the URL's)."""
    cookie = {"Cookie": f"sessionid={session}"}
    status, headers, content = send(port, "GET", path, cookie, timeout=30, origin=origin)
    if status != 302 or not headers["Location"].startswith("http"):
        return status, content
    signed = urlsplit(headers["Location"])
    assert resolve and signed.netloc in resolve, f"no port to reach {headers['Location']}"
    conn = http.client.HTTPConnection("127.0.0.1", resolve[signed.netloc], timeout=30)
    try:
        conn.request("GET", f"{signed.path}?{signed.query}", headers={"Host": signed.netloc})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def alive(port: int, path: str = "/alive/") -> bool:
    """Liveness as a container or Fly check sees it: the path answers 200 (no redirect)."""
    try:
        return request(port, "GET", path)[0] == 200
    except (OSError, http.client.HTTPException):
        return False


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
              path: str = "/", origin: str | None = None,
              session: str | None = None) -> tuple[int, str, dict[str, str]]:  # fmt: skip
    """GET the form page, then POST it as a browser does: the CSRF cookie and token, Origin
    and Referer; multipart when there are files (name -> (filename, bytes)); both requests as
    the user whose `session` (sessionid cookie) is given. The cookies are Secure (production
    settings), so a cookie jar would not send them over http: the Cookie header is set by hand.
    Returns the POST's status, text and the cookies it set."""
    signed = {"Cookie": f"sessionid={session}"} if session else {}
    status, headers, page = get(port, path, origin, session)
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
        headers={"Cookie": "; ".join(filter(None, [f"csrftoken={cookies['csrftoken'].value}",
                                                   signed.get("Cookie")])), "Origin": origin,
                 "Referer": f"{origin}{path}", "Content-Type": kind},
    )  # fmt: skip
    given = {}
    for value in answered.get_all("Set-Cookie") or []:
        given |= {name: morsel.value for name, morsel in SimpleCookie(value).items()}
    return status, content.decode(errors="replace"), given


def sign_in(port: int, username: str, password: str, origin: str | None = None,
            login: str = "/accounts/login/", landing: str = "/") -> str | None:  # fmt: skip
    """Sign in through a sign-in form as a browser does, then open the landing page with the
    session cookie it set: that session when the page answers 200 as the signed-in user,
    else None."""
    fields = {"username": username, "password": password, "next": landing}
    status, _, cookies = post_form(port, fields, path=login, origin=origin)
    if status != 302 or "sessionid" not in cookies:
        return None
    status, _, page = request(port, "GET", landing, origin=origin,
                              headers={"Cookie": f"sessionid={cookies['sessionid']}"})  # fmt: skip
    return cookies["sessionid"] if status == 200 and username in page else None


def logs_in(port: int, username: str, password: str, origin: str | None = None) -> bool:
    """Whether the admin's sign-in page lets the user in."""
    return sign_in(port, username, password, origin, "/admin/login/", "/admin/") is not None


def new_superuser(manage: Callable) -> tuple[str, str]:
    """(username, password) of a new user, made in the web container by Django's
    createsuperuser (`manage` runs manage.py there)."""
    username, password = f"writer-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    made = manage("createsuperuser", "--noinput", "--username", username,
                  "--email", f"{username}@example.com",
                  env={"DJANGO_SUPERUSER_PASSWORD": password})  # fmt: skip
    assert made.returncode == 0, made.output
    return username, password


def writer(port: int, manage: Callable, origin: str | None = None) -> str:
    """A new superuser (new_superuser), signed in through the app's sign-in page: its
    session."""
    username, password = new_superuser(manage)
    session = sign_in(port, username, password, origin)
    assert session, f"{username} could not sign in at /accounts/login/"
    return session


def post_entry(port: int, title: str, body: str, session: str | None,
               origin: str | None = None) -> None:  # fmt: skip
    """Create an entry through the app's form, as the signed-in user (None: as a visitor, to
    a release from before sign-in was required)."""
    fields = {"title": title, "body": body}
    status, text, _ = post_form(port, fields, origin=origin, session=session)
    assert status == 302, f"POST / answered {status}, expected a redirect: {text[:800]}"


def post_attachment(port: int, title: str, filename: str, content: bytes, session: str | None,
                    origin: str | None = None) -> None:  # fmt: skip
    """Create an entry with an attachment through the form (multipart/form-data)."""
    status, text, _ = post_form(
        port,
        {"title": title, "body": ""},
        files={"attachment": (filename, content)},
        origin=origin,
        session=session,
    )
    assert status == 302, f"POST / answered {status}: {text[:800]}"


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
