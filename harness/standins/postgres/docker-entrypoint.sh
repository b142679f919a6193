#!/usr/bin/env bash
# Entrypoint of the postgres:17 STAND-IN: a small re-implementation of the
# official image's behaviour. On the first start (empty PGDATA) it runs initdb
# with POSTGRES_USER / POSTGRES_PASSWORD, creates POSTGRES_DB, runs
# /docker-entrypoint-initdb.d/*.sh|*.sql, and allows password (scram) logins
# from any host; then it execs postgres as the postgres user.
set -Eeuo pipefail

# VAR or VAR_FILE (docker secrets), like the official image.
file_env() {
    local var=$1 default=${2:-} file_var="${1}_FILE"
    if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
        echo >&2 "error: both $var and $file_var are set (but are exclusive)"
        exit 1
    fi
    local value=$default
    if [[ -n ${!var:-} ]]; then
        value=${!var}
    elif [[ -n ${!file_var:-} ]]; then
        value=$(<"${!file_var}")
    fi
    export "$var"="$value"
    unset "$file_var"
}

init_database() {
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    local auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [[ -z $POSTGRES_PASSWORD && $auth != trust ]]; then
        echo >&2 "error: database is uninitialized and POSTGRES_PASSWORD is not set" \
            "(set it, or POSTGRES_HOST_AUTH_METHOD=trust)"
        exit 1
    fi

    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS holds several words
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        $POSTGRES_INITDB_ARGS
    printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

    # A temporary server on the socket only, as the official image does.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
    local psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres)
    if [[ $POSTGRES_DB != postgres ]]; then
        "${psql[@]}" --set db="$POSTGRES_DB" >/dev/null <<<'CREATE DATABASE :"db";'
    fi
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
            *.sh) echo "running $f"; if [[ -x $f ]]; then "$f"; else
                # shellcheck disable=SC1090
                . "$f"; fi ;;
            *.sql) echo "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
            *) [[ -e $f ]] && echo "ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    echo "PostgreSQL init process complete; ready for start up."
}

# `docker run image -c foo=bar` means `postgres -c foo=bar`.
if [[ ${1:-} == -* ]]; then
    set -- postgres "$@"
fi

if [[ ${1:-} == postgres ]]; then
    if [[ $(id -u) == 0 ]]; then
        install -d -o postgres -g postgres -m 0700 "$PGDATA"
        install -d -o postgres -g postgres -m 3777 /var/run/postgresql
        exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
    fi
    if [[ ! -s $PGDATA/PG_VERSION ]]; then
        init_database
    fi
fi

exec "$@"
