"""A generated project's Docker Swarm stack (its stack.yaml, driven by its own `just stack-*`
recipes) on this machine's single-node swarm. harness/swarm_scenarios.py measures it under load.

This kernel has no IPVS: the stack publishes its proxy in host mode and resolves services by
DNS round robin, which is what it does on any kernel (see the project's stack.yaml)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from harness import CACHE
from harness.baseimages import ensure_images
from harness.commands import BIN, free_port, run, tool, uv_env, wait_until
from harness.docker import inspect
from harness.images import remove_images
from harness.s3 import S3, S3_SECRET_KEY
from harness.s3service import bucket_env, s3_service

# Set when the suite put this engine in swarm mode: `harness.engine forget` leaves it then.
SWARM_MARK = CACHE / "swarm-initialized-by-the-suite"


def ensure_swarm() -> None:
    """This engine in swarm mode, left on for the rest of the run.

    Never left mid-run: `docker swarm leave` drops the embedded DNS records of every running
    container on every network (seen: a Fly app's web stopped resolving `postgres` on its own
    bridge network the moment the swarm test's teardown left the swarm)."""
    state = run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"]).stdout.strip()
    if state == "active":
        return
    result = run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], timeout=120)
    assert result.returncode == 0, f"docker swarm init failed: {result.output}"
    SWARM_MARK.parent.mkdir(parents=True, exist_ok=True)
    SWARM_MARK.touch()


BUCKET = "media"


def readme_bucket_override(project: Path) -> dict:
    """The stack.override.yaml the project's README shows for uploads in a bucket."""
    readme = (project / "README.md").read_text()
    section = readme[readme.index("Uploads go to a bucket") :]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.DOTALL)[1])


class SwarmStack:
    """One deployed stack.yaml. Images, secrets and volumes carry the stack's name (the
    suite's prefix), so `harness.engine forget` finds whatever a stopped run left.

    With `bucket`, uploads go to S3 as the README says: its stack.override.yaml, with the
    values pointing at a SeaweedFS service (harness.s3's image) on the stack's network, its
    port published on 127.0.0.1 for the tests' own client, and the secret key in .env."""

    def __init__(self, project: Path, name: str, bucket: bool = False) -> None:
        self.project = project
        self.name = name
        self.port = free_port()
        self.repository = f"{name}-app"
        self.s3_port = free_port() if bucket else None
        # Deploy-time variables a test sets (SITE_ADDRESS, ...), over the defaults below.
        self.site: dict[str, str] = {}
        if bucket:
            self._add_bucket()

    def _add_bucket(self) -> None:
        override = readme_bucket_override(self.project)
        wiring = bucket_env(BUCKET)
        del wiring["AWS_SECRET_ACCESS_KEY"]  # a Docker secret, from .env: as the README says
        for service in override["services"].values():
            # The sweep every minute, so a test sees its periods (once each) in minutes.
            service["environment"].update(wiring, STALE_ENTRY_SECONDS="60")
        override.pop("x-bucket", None)
        override["services"]["s3"] = s3_service(self.s3_port, swarm=True)
        (self.project / "stack.override.yaml").write_text(yaml.safe_dump(override))
        with (self.project / ".env").open("a") as env:
            env.write(f"AWS_SECRET_ACCESS_KEY={S3_SECRET_KEY}\n")

    def s3(self):
        """A boto3 client on the stack's S3 service, with the bucket made."""
        client = S3(f"http://127.0.0.1:{self.s3_port}").client()
        if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
            client.create_bucket(Bucket=BUCKET)
        return client

    def env(self) -> dict[str, str]:
        path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
        return {
            **uv_env(),
            "PATH": path,
            "STACK_NAME": self.name,
            "IMAGE_REPOSITORY": self.repository,
            "WEB_PORT": str(self.port),
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            **self.site,
        }

    def just(self, *args: str, timeout: float = 600):
        result = run([tool("just"), *args], cwd=self.project, env=self.env(), timeout=timeout)
        assert result.returncode == 0, f"just {' '.join(args)} failed:\n{result.output[-4000:]}"
        return result

    def build(self, tag: str):
        return self.just("stack-build", tag, timeout=1800)

    def deploy(self, tag: str):
        ensure_images("caddy:2", "postgres:17", "redis:8")
        return self.just("stack-deploy", tag, timeout=900)

    def scale(self, **replicas: int):
        return self.just("stack-scale", *(f"{s}={n}" for s, n in replicas.items()), timeout=600)

    def service(self, name: str) -> str:
        return f"{self.name}_{name}"

    def containers(self, service: str) -> list[dict]:
        """The running containers of a service's tasks, as `docker inspect` shows them."""
        label = f"com.docker.swarm.service.name={self.service(service)}"
        listed = run(["docker", "ps", "--quiet", "--filter", f"label={label}"])
        assert listed.returncode == 0, listed.output
        ids = listed.stdout.split()
        return inspect(*ids, gone_ok=True) if ids else []

    def manage(self, *args: str, env: dict[str, str] | None = None):
        """`python manage.py ...` in a running web task."""
        flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
        task = self.healthy("web")[0]["Id"]
        return run(["docker", "exec", *flags, task, "python", "manage.py", *args], timeout=120)

    def healthy(self, service: str) -> list[dict]:
        return [
            c for c in self.containers(service)
            if c["State"]["Running"] and c["State"].get("Health", {}).get("Status") == "healthy"
        ]  # fmt: skip

    def ready(self, service: str, count: int, tag: str | None = None) -> bool:
        """Exactly `count` containers run the service, all healthy (and on `tag`)."""
        healthy = self.healthy(service)
        if tag:
            healthy = [c for c in healthy if c["Config"]["Image"].endswith(f":{tag}")]
        return len(healthy) == count and len(self.containers(service)) == count

    def remove(self) -> None:
        """The stack, then its volumes, secrets and images (volumes outlive `stack rm`)."""
        run(["docker", "stack", "rm", "--detach=false", self.name], timeout=300)
        label = f"com.docker.stack.namespace={self.name}"

        def volumes_free() -> bool:
            listed = run(["docker", "volume", "ls", "--quiet", "--filter", f"label={label}"])
            names = listed.stdout.split()
            return not names or run(["docker", "volume", "rm", *names]).returncode == 0

        wait_until(volumes_free, 120, f"{self.name}'s volumes removed")
        secrets = run(["docker", "secret", "ls", "--quiet", "--filter", f"name={self.name}-"])
        if ids := secrets.stdout.split():
            run(["docker", "secret", "rm", *ids])
        images = run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
                      self.repository])  # fmt: skip
        remove_images(*images.stdout.split())
