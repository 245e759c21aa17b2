"""Covariance structures of the visits for the MMRM: ``Sigma(theta)`` and ``dSigma/dtheta_j``.

Every structure maps unconstrained parameters ``theta`` to a ``T x T`` covariance matrix over the
visits (in time order) and gives its derivatives, from which ``mmrm`` computes the REML gradient and
the Satterthwaite degrees of freedom. Correlations are ``rho = tanh(z)``; standard deviations and
variances are on the log scale.

======  ==========================================  ==========================================
code    ``Sigma_jk``                                parameters
======  ==========================================  ==========================================
us      unrestricted, ``Sigma = L L'``              ``T (T + 1) / 2``: ``L`` row by row, log diagonal
cs      ``s2 (rho + (1 - rho) [j == k])``           ``log s2``, ``z``
csh     ``s_j s_k (rho + (1 - rho) [j == k])``      ``log s_1 .. log s_T``, ``z``
ar1     ``s2 rho^|j - k|``                          ``log s2``, ``z``
arh1    ``s_j s_k rho^|j - k|``                     ``log s_1 .. log s_T``, ``z``
======  ==========================================  ==========================================

Kenward-Roger's adjustment depends on the parameterisation where ``Sigma`` is not linear in it, so it
uses the ``natural`` parameters of SAS PROC MIXED instead: us, the elements of ``Sigma``; cs, the
common covariance and the residual variance (``Sigma = r I + c J``, linear); csh and arh1, the visit
variances and ``rho``; ar1, the variance and ``rho``.

The codes are SAS PROC MIXED's ``TYPE=`` values (UN is ``us`` here, as in the R package mmrm). The
AR(1) lag is the distance in visit order, so visits are taken as equally spaced.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
StructureCode = Literal["us", "cs", "csh", "ar1", "arh1"]
STRUCTURES: tuple[StructureCode, ...] = ("us", "cs", "csh", "ar1", "arh1")


class Structure:
    """One covariance structure over ``t`` visits (see the module table)."""

    def __init__(self, code: StructureCode, t: int) -> None:
        if code not in STRUCTURES:
            raise ValueError(f"unknown covariance structure {code!r}; use one of {', '.join(STRUCTURES)}")
        self.code = code
        self.t = t
        self.rows, self.cols = np.tril_indices(t)
        self.diag = self.rows == self.cols
        lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t))).astype(np.float64)
        self.lag = lag
        self.heterogeneous = code in ("csh", "arh1")

    @property
    def size(self) -> int:
        if self.code == "us":
            return self.t * (self.t + 1) // 2
        return self.t + 1 if self.heterogeneous else 2

    def _chol(self, theta: FloatArray) -> FloatArray:
        lower = np.zeros((self.t, self.t))
        lower[self.rows, self.cols] = np.where(self.diag, np.exp(theta), theta)
        return lower

    def _correlation(self, z: float) -> tuple[FloatArray, FloatArray]:
        """The correlation matrix and its derivative with respect to ``z``."""
        rho = float(np.tanh(z))
        drho = 1.0 - rho**2
        if self.code in ("cs", "csh"):
            off = np.ones((self.t, self.t)) - np.eye(self.t)
            return np.eye(self.t) + rho * off, drho * off
        power = rho**self.lag
        dpower = np.where(self.lag > 0, self.lag * rho ** np.maximum(self.lag - 1.0, 0.0), 0.0)
        return power, drho * dpower

    def _scale(self, theta: FloatArray) -> FloatArray:
        """Standard deviations per visit."""
        if self.heterogeneous:
            return np.exp(theta[: self.t])
        return np.full(self.t, np.exp(theta[0] / 2.0))

    def sigma(self, theta: FloatArray) -> FloatArray:
        if self.code == "us":
            lower = self._chol(theta)
            return lower @ lower.T
        corr, _ = self._correlation(float(theta[-1]))
        sd = self._scale(theta)
        return sd[:, None] * corr * sd[None, :]

    def derivatives(self, theta: FloatArray) -> FloatArray:
        """``dSigma/dtheta_j`` for every ``j``, shape ``(q, T, T)``."""
        out = np.zeros((self.size, self.t, self.t))
        if self.code == "us":
            lower = self._chol(theta)
            for j, (row, col) in enumerate(zip(self.rows, self.cols, strict=True)):
                d_lower = np.zeros((self.t, self.t))
                d_lower[row, col] = lower[row, col] if row == col else 1.0
                out[j] = d_lower @ lower.T + lower @ d_lower.T
            return out
        sigma = self.sigma(theta)
        _, dcorr = self._correlation(float(theta[-1]))
        sd = self._scale(theta)
        if self.heterogeneous:
            for j in range(self.t):
                # d(s_j)/d(log s_j) = s_j scales row j and column j (the diagonal twice).
                unit = np.zeros((self.t, self.t))
                unit[j, j] = 1.0
                out[j] = unit @ sigma + sigma @ unit
        else:
            out[0] = sigma  # d/d(log s2)
        out[-1] = sd[:, None] * dcorr * sd[None, :]
        return out

    def natural(self, theta: FloatArray) -> FloatArray:
        """The natural parameters (see the module docstring) of ``theta``."""
        if self.code == "us":
            elements: FloatArray = self.sigma(theta)[self.rows, self.cols]
            return elements
        rho = float(np.tanh(theta[-1]))
        if self.code == "cs":
            s2 = float(np.exp(theta[0]))
            return np.array([s2 * rho, s2 * (1.0 - rho)])
        if self.heterogeneous:
            return np.concatenate([np.exp(2.0 * theta[: self.t]), [rho]])
        return np.array([float(np.exp(theta[0])), rho])

    def sigma_natural(self, phi: FloatArray) -> FloatArray:
        """``Sigma`` from the natural parameters."""
        if self.code == "us":
            out = np.zeros((self.t, self.t))
            out[self.rows, self.cols] = phi
            out[self.cols, self.rows] = phi
            return out
        if self.code == "cs":
            return float(phi[1]) * np.eye(self.t) + float(phi[0]) * np.ones((self.t, self.t))
        rho = float(phi[-1])
        if self.code in ("csh",):
            corr = np.eye(self.t) + rho * (np.ones((self.t, self.t)) - np.eye(self.t))
        else:
            corr = rho**self.lag
        sd = np.sqrt(phi[: self.t]) if self.heterogeneous else np.full(self.t, np.sqrt(phi[0]))
        return sd[:, None] * corr * sd[None, :]

    def start(self, variances: FloatArray) -> FloatArray:
        """Starting values: the given per-visit variances, uncorrelated."""
        if self.code == "us":
            out = np.zeros(self.size)
            out[self.diag] = 0.5 * np.log(variances)
            return out
        if self.heterogeneous:
            return np.concatenate([0.5 * np.log(variances), [0.0]])
        return np.array([float(np.log(np.mean(variances))), 0.0])
