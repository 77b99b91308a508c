"""Uses of tagged corpora: document metadata, theme shares with intervals, comparisons."""
