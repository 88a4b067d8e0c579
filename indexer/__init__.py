"""Files and the search index: readers, the Whoosh index, reindex jobs, the CLI."""

from indexer.workers import arm_if_worker

# A worker spawned by a kb job arms its parent-death signal here, the first time it
# imports anything of kb's, before it has read its task.
arm_if_worker()
