#!/bin/sh
# Entrypoint of the redis STAND-IN, mimicking the official image: options or a
# *.conf as first argument mean redis-server; as root it chowns /data and drops
# to the redis user; without a config file that sets protected-mode it adds
# `--protected-mode no` so other containers can connect.
set -eu

if [ "${1#-}" != "${1:-}" ] || [ "${1%.conf}" != "${1:-}" ]; then
    set -- redis-server "$@"
fi

if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . ! -user redis -exec chown redis:redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

if [ "${1:-}" = redis-server ]; then
    shift
    config=
    if [ -f "${1:-}" ]; then
        config=$1
        shift
    fi
    if [ -n "$config" ] && grep -q '^protected-mode' "$config"; then
        set -- redis-server "$config" "$@"
    else
        set -- redis-server ${config:+"$config"} --protected-mode no "$@"
    fi
fi

exec "$@"
