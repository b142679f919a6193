cd cafe-ledger
copier update --defaults --conflict rej
find . -name '*.rej'                           # your rejected hunks; the file has the template's text
