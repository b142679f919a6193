cd cafe-ledger
git init --quiet --initial-branch main
git add --all
git commit --quiet --message "Start from start-django"
