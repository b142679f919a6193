docker rm --force cafe-ledger-web cafe-ledger-worker cafe-ledger-redis
docker network rm cafe-ledger-net
docker volume rm cafe-ledger-data cafe-ledger-replica
