cd cafe-ledger
copier check-update                          # is there a newer template tag?
copier check-update --output-format json     # the same, for scripts
