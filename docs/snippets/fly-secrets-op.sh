# Not run by the tests: needs flyctl, the 1Password CLI and both accounts.
fly secrets set --stage SECRET_KEY="$(op read op://cafe_ledger/django/secret-key)"
fly secrets set --stage EMAIL_HOST_PASSWORD="$(op read op://cafe_ledger/email/password)"
