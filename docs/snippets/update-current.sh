cd cafe-ledger
copier update --defaults --vcs-ref=:current: --data fly=false   # same template version
git status --short
git add --all
git commit --quiet --message "No Fly.io deploy files"
