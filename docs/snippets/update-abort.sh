cd cafe-ledger
git reset --quiet            # forget the unmerged state
git checkout -- .            # restore the files the update changed
git clean -d --force         # remove the files it added (ignored ones such as .env stay)
git status --short
