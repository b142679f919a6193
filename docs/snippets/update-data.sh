cd cafe-ledger
copier update --defaults --data worker=none    # change one answer: files come and go with it
git status --short
git add --all
git commit --quiet --message "No background worker"
