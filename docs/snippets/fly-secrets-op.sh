# Not run by the tests: needs flyctl, the 1Password CLI and both accounts.
op signin
just fly-secrets                   # op inject --in-file .env.fly.op, then fly secrets import --stage
