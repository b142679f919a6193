cd cafe-ledger
docker compose --profile pg stop worker-pg     # SIGTERM: running tasks finish first
docker compose --profile pg ps --all worker-pg  # Exited (0)
just down pg
