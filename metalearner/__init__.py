"""metakg meta-learner."""
