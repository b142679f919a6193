cd cafe-ledger
docker network create cafe-ledger-net
docker volume create cafe-ledger-data
docker volume create cafe-ledger-replica
docker run -d --name cafe-ledger-redis --network cafe-ledger-net redis:8
docker run -d --name cafe-ledger-web --network cafe-ledger-net \
  --env-file .env \
  -e DATABASE_URL=sqlite:////data/db.sqlite3 \
  -e REDIS_URL=redis://cafe-ledger-redis:6379/0 \
  -e LITESTREAM_REPLICA_URL=file:///replica/db \
  -v cafe-ledger-data:/data \
  -v cafe-ledger-replica:/replica \
  -p 127.0.0.1:8080:8080 \
  cafe-ledger-sq
timeout 120 sh -c 'until curl -fsS http://127.0.0.1:8080/health/ | grep "\"status\": \"ok\""; do sleep 2; done'
docker run -d --name cafe-ledger-worker --network cafe-ledger-net \
  --env-file .env \
  -e DATABASE_URL=sqlite:////data/db.sqlite3 \
  -e REDIS_URL=redis://cafe-ledger-redis:6379/0 \
  -v cafe-ledger-data:/data \
  cafe-ledger-sq scripts/worker.sh
