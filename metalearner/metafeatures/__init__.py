"""Meta-features: a named, versioned characterisation of tables in groups (tiers)."""

from metakg.metalearner.metafeatures.extract import (
    EXTRACTOR,
    GROUPS,
    VERSION,
    MetaFeatures,
    compute_metafeatures,
    feature_names,
)
from metakg.metalearner.metafeatures.text import (
    decode_embedding,
    describe,
    embed_texts,
    encode_embedding,
    model_available,
)

__all__ = [
    "EXTRACTOR",
    "GROUPS",
    "VERSION",
    "MetaFeatures",
    "compute_metafeatures",
    "decode_embedding",
    "describe",
    "embed_texts",
    "encode_embedding",
    "feature_names",
    "model_available",
]
