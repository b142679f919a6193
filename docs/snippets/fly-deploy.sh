# Not run by the tests: needs flyctl and a Fly.io account.
just deploy                        # flyctl, with src/ as the build context
fly scale count 1                  # apps with a volume: one machine holds it
fly status
curl -fsS https://cafe-ledger.fly.dev/health/
fly logs
