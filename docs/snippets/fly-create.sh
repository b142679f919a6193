# Not run by the tests: needs flyctl and a Fly.io account.
fly auth login
fly apps create cafe-ledger
