"""Uses of labelled data: reading labels, training, evaluation."""
