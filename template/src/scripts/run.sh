#!/usr/bin/env bash
# The container's start when run locally (compose, `docker run`): web.sh on port 8080.
set -euo pipefail
export PORT="${PORT:-8080}"
exec "$(dirname "$0")/web.sh"
