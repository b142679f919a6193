# Not run by the tests: needs PostgreSQL and Redis on this machine, reachable from containers.
cd cafe-ledger
docker run --rm --env-file .env \
  -e DATABASE_URL=postgres://cafe:secret@host.docker.internal:5432/cafe \
  -e REDIS_URL=redis://host.docker.internal:6379/0 \
  --add-host=host.docker.internal:host-gateway \
  -p 127.0.0.1:8080:8080 \
  cafe-ledger-pg
