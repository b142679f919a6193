# Not run by the tests: needs flyctl and a Fly.io account.
fly storage create --name cafe-ledger-backups     # sets AWS_* and BUCKET_NAME secrets on the app
fly secrets set --stage \
  LITESTREAM_REPLICA_URL="s3://cafe-ledger-backups/db?endpoint=https://fly.storage.tigris.dev&region=auto"
