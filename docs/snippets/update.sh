cd cafe-ledger
git status --short                 # must print nothing: commit or stash your work first
copier update --defaults           # the newest template tag, the answers you gave before
git status --short                 # what the template changed; your edits are kept
git add --all
git commit --quiet --message "Update from start-django"
