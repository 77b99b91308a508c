"""The model: features, classifier, context stage, compiled arrays and persistence."""
