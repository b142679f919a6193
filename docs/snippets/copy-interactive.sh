# Not run by the tests: asks each question at a terminal.
copier copy gh:org/start-django cafe-ledger
