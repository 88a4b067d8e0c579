"""Domain core of kb: items, vocabulary, queries, related items, settings, errors.

This package uses only the standard library and does no file or network I/O, so
that every other layer (indexer, web UI, a future search backend) shares it.
"""
