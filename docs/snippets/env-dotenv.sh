cd cafe-ledger
just env                        # wrote .env
just env                        # .env exists; left as it is
git check-ignore .env           # prints .env: git ignores it
grep -c '^SECRET_KEY=' .env     # one key, 67 random characters, never committed
