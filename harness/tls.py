"""An HTTPS site as a client on the internet reaches it: curl, trusting only the site's CA root,
with the site's name resolved to 127.0.0.1 (`--resolve`) and a cookie jar; and the certificate
the site serves, read with Python's ssl over the same name."""

from __future__ import annotations

import hashlib
import socket
import ssl
from pathlib import Path

from harness.commands import run, tool


class Site:
    def __init__(self, name: str, https_port: int, http_port: int, root: str, workdir: Path):
        self.name, self.https_port, self.http_port = name, https_port, http_port
        self.workdir = workdir
        self.cafile = workdir / "root.crt"
        self.cafile.write_text(root)
        self.jar = workdir / "cookies.txt"

    @property
    def origin(self) -> str:
        return f"https://{self.name}:{self.https_port}"

    def curl(self, url: str, *args: str) -> tuple[int, dict[str, list[str]], str]:
        """(status, headers by lower-case name, body); curl's own error fails the test."""
        headers, body = self.workdir / "headers.txt", self.workdir / "body.txt"
        result = run([
            tool("curl"), "--silent", "--show-error", "--max-time", "15",
            "--cacert", self.cafile, "--cookie", self.jar, "--cookie-jar", self.jar,
            "--resolve", f"{self.name}:{self.https_port}:127.0.0.1",
            "--resolve", f"{self.name}:{self.http_port}:127.0.0.1",
            "--dump-header", headers, "--output", body, "--write-out", "%{http_code}",
            *args, url,
        ], timeout=30)  # fmt: skip
        assert result.returncode == 0, result.output
        found: dict[str, list[str]] = {}
        for line in headers.read_text().splitlines()[1:]:
            name, _, value = line.partition(":")
            if value:
                found.setdefault(name.strip().lower(), []).append(value.strip())
        return int(result.stdout), found, body.read_text(errors="replace")

    def get(self, path: str) -> tuple[int, dict[str, list[str]], str]:
        return self.curl(f"{self.origin}{path}")

    def get_plain_http(self, path: str) -> tuple[int, dict[str, list[str]], str]:
        return self.curl(f"http://{self.name}:{self.http_port}{path}")

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, list[str]], str]:
        """As a browser posts a form: its Origin and Referer, the cookies it holds."""
        data = [arg for k, v in fields.items() for arg in ("--data-urlencode", f"{k}={v}")]
        headers = [
            "--header",
            f"Origin: {self.origin}",
            "--header",
            f"Referer: {self.origin}{path}",
        ]
        return self.curl(f"{self.origin}{path}", *data, *headers)

    def certificate(self) -> str:
        """The SHA-256 of the certificate served for the name, verified against the root."""
        context = ssl.create_default_context(cafile=str(self.cafile))
        with (
            socket.create_connection(("127.0.0.1", self.https_port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=self.name) as tls,
        ):
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()
