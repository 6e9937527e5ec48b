"""Device selection: CUDA when present and asked for, CPU otherwise (torch imported lazily)."""

from __future__ import annotations

import functools
import importlib.util

__all__ = ["cuda_available", "resolve_device"]


@functools.cache
def cuda_available() -> bool:
    """Whether a CUDA device is usable (False when torch is not installed)."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when available else ``cpu``; ``cpu``/``cuda`` are checked.

    Raises:
        ValueError: ``cuda`` asked for but not available, or an unknown device.
    """
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cpu":
        return "cpu"
    if device.startswith("cuda"):
        if not cuda_available():
            raise ValueError("device='cuda' was asked for but no CUDA device is available; "
                             "use device='auto' or 'cpu'.")
        return device
    raise ValueError(f"Unknown device {device!r}; use 'auto', 'cpu' or 'cuda'.")
