"""Text embeddings of datasets: a vector on the dataset node with the model that made it.

The graph stores a vector as base64 text of little-endian float32 (``mkg:textEmbedding``)
beside the model's name (``mkg:embeddingModel``); this module is the only reader and writer.
"""

from __future__ import annotations

import base64

import numpy as np
from pyoxigraph import DefaultGraph, Literal, Quad

from metakg.kg.graph import KnowledgeGraph
from metakg.kg.vocabulary import MKG, entity, entity_key

__all__ = ["decode_embedding", "encode_embedding", "set_text_embedding", "text_embedding",
           "text_embeddings"]


def encode_embedding(vec: np.ndarray) -> str:
    """Base64 text of a float32 vector (how the graph stores it)."""
    return base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode()


def decode_embedding(text: str) -> np.ndarray:
    """Inverse of :func:`encode_embedding`."""
    return np.frombuffer(base64.b64decode(text), dtype="<f4").copy()


def set_text_embedding(graph: KnowledgeGraph, dataset_id: str, vector: np.ndarray, *,
                       model: str) -> None:
    """Store a dataset's text embedding, replacing any older one, in one atomic update.

    Args:
        graph: the graph.
        dataset_id: the dataset.
        vector: the embedding (stored as float32).
        model: the name of the model that made it.
    """
    node = entity("dataset", dataset_id)
    old = graph.store.select(
        "SELECT ?v ?m WHERE { ?d mkg:textEmbedding ?v ; mkg:embeddingModel ?m }", {"d": node})
    remove = [Quad(node, MKG.textEmbedding, Literal(r["v"]), DefaultGraph()) for r in old] + [
        Quad(node, MKG.embeddingModel, Literal(r["m"]), DefaultGraph()) for r in old]
    graph.store.replace(remove, [
        Quad(node, MKG.textEmbedding, Literal(encode_embedding(vector)), DefaultGraph()),
        Quad(node, MKG.embeddingModel, Literal(model), DefaultGraph())])


def text_embeddings(graph: KnowledgeGraph) -> dict[str, np.ndarray]:
    """Every stored text embedding: dataset id → vector, in the store's order.

    Args:
        graph: the graph.

    Returns:
        Dataset id → float32 vector; empty when none is stored.
    """
    rows = graph.store.select("SELECT ?d ?v WHERE { ?d mkg:textEmbedding ?v }")
    return {entity_key(r["d"]): decode_embedding(r["v"]) for r in rows}


def text_embedding(graph: KnowledgeGraph, dataset_id: str) -> np.ndarray | None:
    """One dataset's stored text embedding (``None``: none stored).

    Args:
        graph: the graph.
        dataset_id: the dataset.

    Returns:
        The float32 vector, or ``None`` when the dataset has none (or is unknown).
    """
    rows = graph.store.select("SELECT ?v WHERE { ?d mkg:textEmbedding ?v } LIMIT 1",
                              {"d": entity("dataset", dataset_id)})
    return decode_embedding(rows[0]["v"]) if rows else None
