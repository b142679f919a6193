"""Container HEALTHCHECK.

`healthcheck.py`: /health/ answers 200 on this container's port (web).
`healthcheck.py worker`: the container's main process is the huey consumer and is running.
"""

import os
import sys
import urllib.request


def web() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8080')}/health/"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


def worker() -> int:
    with open("/proc/1/cmdline", "rb") as cmdline:
        running = b"run_huey" in cmdline.read()
    if not running:
        print("healthcheck: process 1 is not the huey consumer", file=sys.stderr)
    return 0 if running else 1


if __name__ == "__main__":
    sys.exit(worker() if sys.argv[1:] == ["worker"] else web())
