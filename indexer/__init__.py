"""Files and the search index: readers, the Whoosh index, reindex jobs, the CLI."""
