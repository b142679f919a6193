cd cafe-ledger
just restore-drill     # the latest backup into /tmp/drill.sqlite3 in web-sq, checked
just down sq
