"""`make train-reader`: the reranker and answer-span reader, trained on ../shared/trainset.

Never imported by `bot` or `index` (test_import_rules): the bot only loads the exported file.
"""
