"""Text handling: normalisation, sentence splitting, tokenisation, document structure."""
