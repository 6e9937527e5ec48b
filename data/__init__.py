"""Package data: the shipped seed graph, the recommenders fitted on it and sample tables."""
