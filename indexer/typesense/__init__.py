"""The Typesense backend: kb's items in a Typesense cluster that replicates them and survives the loss of a node."""
