"""Uses of a model on documents: tagging a text, a folder, and writing the outputs."""
