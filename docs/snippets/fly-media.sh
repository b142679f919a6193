# Not run by the tests: needs flyctl and a Fly.io account.
fly storage create --name cafe-ledger-media   # sets BUCKET_NAME and the AWS_* secrets on the app
fly secrets list                              # BUCKET_NAME, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_S3, ...
just deploy                                   # uploads now go to the bucket, under media/
