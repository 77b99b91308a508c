"""The labelling loop: choose the sentences worth labelling, label them in a local page, export and import."""
