# Not run by the tests: needs the 1Password CLI and a signed-in account.
op vault create cafe_ledger
op item create --vault cafe_ledger --category "Secure Note" --title django \
  "secret-key[password]=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
op item create --vault cafe_ledger --category "Secure Note" --title postgres \
  "password[password]=$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
op item create --vault cafe_ledger --category "Secure Note" --title email \
  "password[password]=the-smtp-password"
