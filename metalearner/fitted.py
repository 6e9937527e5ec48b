"""A clear error for an estimator used before ``fit``.

scikit-learn's convention is that fitted attributes end in ``_`` and exist only after ``fit``;
reading one earlier is a bare ``AttributeError`` naming an attribute the user never set.
:class:`NotFittedGuard` turns that into scikit-learn's :class:`~sklearn.exceptions.
NotFittedError` (an ``AttributeError`` too, so ``hasattr`` and ``check_is_fitted`` behave as
before) saying what to call first.
"""

from __future__ import annotations

from typing import Any

from sklearn.exceptions import NotFittedError

__all__ = ["NotFittedGuard"]


class NotFittedGuard:
    """Mixin: reading a fitted attribute (a name ending in ``_``) that ``fit`` has not set
    raises :class:`~sklearn.exceptions.NotFittedError`.

    Attributes:
        fit_hint: the call the error suggests (a subclass says what its ``fit`` takes).
    """

    fit_hint = "fit()"

    def __getattr__(self, name: str) -> Any:
        # called only when the attribute is not found; before fit no fitted attribute is set
        # (after fit, a missing one is a plain AttributeError: a typo, or another branch's)
        if name.endswith("_") and not name.startswith("__") and not any(
                k.endswith("_") and not k.startswith("__") for k in vars(self)):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet (no {name}): call "
                f"{type(self).fit_hint} first.")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
