"""Device selection: CUDA when present and asked for, CPU otherwise (torch imported lazily).

:func:`resolve_device` answers for the machine it runs on: the local back-end calls it on the
driver (the workers share its devices), the Ray back-end inside each task, on the node that
runs it; the Ray driver only checks the spelling (:func:`check_device`).
"""

from __future__ import annotations

import functools
import importlib.util

__all__ = ["check_device", "cuda_available", "resolve_device"]


@functools.cache
def cuda_available() -> bool:
    """Whether a CUDA device is usable (False when torch is not installed)."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def check_device(device: str) -> str:
    """Check that a device is spelled ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, without
    looking for one (a driver that sends the work elsewhere).

    Args:
        device: the device asked for.

    Returns:
        ``device`` unchanged.

    Raises:
        ValueError: an unknown device.
    """
    if device in ("auto", "cpu", "cuda") or (device.startswith("cuda:")
                                             and device[5:].isdigit()):
        return device
    raise ValueError(f"Unknown device {device!r}; use 'auto', 'cpu' or 'cuda'.")


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when available else ``cpu``; ``cpu``/``cuda`` are checked.

    Raises:
        ValueError: ``cuda`` asked for but not available, or an unknown device.
    """
    check_device(device)
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cpu":
        return "cpu"
    if not cuda_available():
        raise ValueError(f"device={device!r} was asked for but no CUDA device is available; "
                         "use device='auto' or 'cpu'.")
    return device
