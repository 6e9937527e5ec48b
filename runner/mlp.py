"""A PyTorch multi-layer perceptron with a scikit-learn interface (torch imported lazily)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

__all__ = ["TorchMLPClassifier", "TorchMLPRegressor"]


class _TorchMLP(BaseEstimator):
    def __init__(self, *, layers: int = 2, width: int = 128, dropout: float = 0.1,
                 learning_rate: float = 1e-3, weight_decay: float = 1e-5, epochs: int = 30,
                 batch_size: int = 128, device: str = "cpu", random_state: int = 0) -> None:
        self.layers = layers
        self.width = width
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state

    def _net(self, n_in: int, n_out: int) -> Any:
        import torch.nn as nn

        mods: list[Any] = []
        width = n_in
        for _ in range(int(self.layers)):
            mods += [nn.Linear(width, int(self.width)), nn.ReLU(), nn.Dropout(self.dropout)]
            width = int(self.width)
        mods.append(nn.Linear(width, n_out))
        return nn.Sequential(*mods)

    def _train(self, X: np.ndarray, y: np.ndarray, n_out: int, loss_fn: Any) -> None:
        import torch

        torch.manual_seed(self.random_state)
        dev = torch.device(self.device)
        self.model_ = self._net(X.shape[1], n_out).to(dev)
        opt = torch.optim.AdamW(self.model_.parameters(), lr=self.learning_rate,
                                weight_decay=self.weight_decay)
        Xt = torch.as_tensor(X, dtype=torch.float32, device=dev)
        yt = torch.as_tensor(y, device=dev)
        gen = torch.Generator(device="cpu").manual_seed(self.random_state)
        n = len(Xt)
        bs = max(1, min(int(self.batch_size), n))
        self.model_.train()
        for _ in range(int(self.epochs)):
            perm = torch.randperm(n, generator=gen).to(dev)
            for i in range(0, n, bs):
                idx = perm[i:i + bs]
                opt.zero_grad()
                loss = loss_fn(self.model_(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        self.model_.eval()

    def _forward(self, X: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            Xt = torch.as_tensor(np.asarray(X, dtype=np.float32), device=torch.device(self.device))
            return self.model_(Xt).float().cpu().numpy()


class TorchMLPClassifier(ClassifierMixin, _TorchMLP):
    """MLP classifier; ``y`` must be integer-encoded 0..k-1 (the pipeline wrapper does it)."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> TorchMLPClassifier:
        import torch.nn.functional as F

        X = np.asarray(X, dtype=np.float32)
        self.classes_ = np.unique(y)
        y_idx = np.searchsorted(self.classes_, y).astype(np.int64)
        self._train(X, y_idx, len(self.classes_), F.cross_entropy)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        logits = self._forward(X)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class TorchMLPRegressor(RegressorMixin, _TorchMLP):
    """MLP regressor on a standardised target."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> TorchMLPRegressor:
        import torch.nn.functional as F

        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.float64)
        self.y_mean_, self.y_std_ = float(y.mean()), float(y.std() or 1.0)
        yz = ((y - self.y_mean_) / self.y_std_).astype(np.float32)[:, None]
        self._train(X, yz, 1, F.mse_loss)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._forward(X)[:, 0] * self.y_std_ + self.y_mean_
