scripts/test                                   # provision, then every test (what CI runs)
scripts/test tests/test_render.py -k sqlite    # arguments go to pytest
scripts/test tests/test_docs.py                # this manual: build, links, every command
scripts/test --fresh                           # first forget the images and caches it made
