scripts/test                                   # provision, then every test (what CI runs)
scripts/test --quick                           # a spread of combinations and one stack
scripts/test tests/test_render.py -k sqlite    # arguments go to pytest
scripts/test tests/test_docs_site.py           # this manual: build, links, diagrams
scripts/test --shard 1/2                       # half of the whole proof (then 2/2, then:)
scripts/test --merge .proof/shard-*.json       # the shards' one proof line
scripts/test --fresh                           # first forget the images and caches it made
