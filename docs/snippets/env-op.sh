# Not run by the tests: needs the 1Password CLI and a signed-in account.
cd cafe-ledger-op
eval "$(op signin)"
just env                 # op inject --in-file .env.op --out-file .env
