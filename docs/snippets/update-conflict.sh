cd cafe-ledger
copier update --defaults                       # exits 0 even when there are conflicts
git status --short | grep '^UU'                # unmerged files, as after a git merge
git diff --name-only --diff-filter=U
