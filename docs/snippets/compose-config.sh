cd cafe-ledger
docker compose --profile pg config --services                          # web-pg, worker-pg, postgres, redis
docker compose --profile sq config --volumes                           # media, sq-data, sq-replica, ...
docker compose -f compose.yaml -f compose.debug.yaml --profile sq config --quiet   # the overlay is valid
