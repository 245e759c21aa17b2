"""The REML engine of the MMRM: subjects grouped by visit pattern, the criterion, its gradient and
Hessian, the derivatives Satterthwaite and Kenward-Roger need. Internal to ``mmrm``.

The REML criterion (Patterson & Thompson 1971; Harville 1977)::

    -2 l_R(theta) = (n - p) log(2 pi) + sum_i log|Sigma_i| + log|X' V^-1 X| + r' V^-1 r,

with ``r = y - X beta_hat(theta)`` and ``beta_hat = (X' V^-1 X)^-1 X' V^-1 y``. Its gradient with
respect to ``Sigma`` is ``G = sum_i E_i' (S_i - S_i r_i r_i' S_i - S_i X_i C X_i' S_i) E_i`` where
``S_i = Sigma_i^-1``, ``C = (X' V^-1 X)^-1`` and ``E_i`` selects the visits of subject ``i``; the
gradient with respect to ``theta_j`` is ``sum(G * dSigma/dtheta_j)``. Subjects are grouped by their
pattern of observed visits so that every sum is a few batched matrix products.

References
----------
Patterson HD, Thompson R (1971). Recovery of inter-block information when block sizes are unequal.
Biometrika 58:545-554.
Harville DA (1977). Maximum likelihood approaches to variance component estimation and to related
problems. JASA 72:320-338.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from haven.trials.stats.covariance import Structure

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Pattern:
    """The subjects observed at exactly the visits ``visits`` (indices into the visit levels)."""

    visits: IntArray
    x: FloatArray  # (m, k, p)
    y: FloatArray  # (m, k)


def patterns(
    x: FloatArray, y: FloatArray, subject: npt.NDArray[np.object_], visit: IntArray, n_visits: int
) -> list[Pattern]:
    order = np.lexsort((visit, subject))
    x, y, subject, visit = x[order], y[order], subject[order], visit[order]
    starts = np.flatnonzero(np.r_[True, subject[1:] != subject[:-1]])
    ends = np.r_[starts[1:], len(subject)]
    if np.any((subject[1:] == subject[:-1]) & (visit[1:] == visit[:-1])):
        raise ValueError("a subject has two rows at the same visit")
    masks = np.zeros(len(starts), dtype=np.int64)
    np.add.at(masks, np.repeat(np.arange(len(starts)), ends - starts), 1 << visit.astype(np.int64))
    out: list[Pattern] = []
    for mask in np.unique(masks):
        visits = np.array([v for v in range(n_visits) if mask >> v & 1], dtype=np.intp)
        chosen = np.flatnonzero(masks == mask)
        rows = (starts[chosen][:, None] + np.arange(len(visits))[None, :]).ravel()
        m, k = len(chosen), len(visits)
        out.append(Pattern(visits=visits, x=x[rows].reshape(m, k, -1), y=y[rows].reshape(m, k)))
    return out


class Reml:
    """The REML criterion of an MMRM, its gradient and the pieces inference needs."""

    def __init__(self, patterns: list[Pattern], structure: Structure, n_obs: int, n_coef: int) -> None:
        self.patterns = patterns
        self.structure = structure
        self.t = structure.t
        self.n_obs = n_obs
        self.p = n_coef

    def gls(
        self, sigma: FloatArray
    ) -> tuple[FloatArray, FloatArray, float, list[FloatArray], list[FloatArray]]:
        """``A = X' V^-1 X``, ``X' V^-1 y``, ``sum log|Sigma_i|``, and per pattern ``S`` and ``S X_i``."""
        a = np.zeros((self.p, self.p))
        b = np.zeros(self.p)
        logdet = 0.0
        inverses: list[FloatArray] = []
        weighted: list[FloatArray] = []
        for pat in self.patterns:
            s = sigma[np.ix_(pat.visits, pat.visits)]
            c = np.linalg.cholesky(s)
            s_inv = np.linalg.inv(s)
            xs = np.matmul(s_inv, pat.x)  # S X_i for every subject of the pattern
            flat = xs.reshape(-1, self.p)
            a += flat.T @ pat.x.reshape(-1, self.p)
            b += flat.T @ pat.y.ravel()
            logdet += 2.0 * len(pat.y) * float(np.sum(np.log(np.diag(c))))
            inverses.append(s_inv)
            weighted.append(xs)
        return a, b, logdet, inverses, weighted

    def value_and_gradient(self, theta: FloatArray) -> tuple[float, FloatArray]:
        sigma = self.structure.sigma(theta)
        if not np.all(np.isfinite(sigma)):
            return float("inf"), np.zeros_like(theta)
        try:
            a, b, logdet, inverses, weighted = self.gls(sigma)
            c = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            return float("inf"), np.zeros_like(theta)
        beta = c @ b
        quad = 0.0
        grad_sigma = np.zeros((self.t, self.t))
        for pat, s_inv, xs in zip(self.patterns, inverses, weighted, strict=True):
            r = pat.y - pat.x @ beta
            rs = r @ s_inv
            quad += float(np.sum(rs * r))
            xsc = xs @ c
            k = len(pat.visits)
            # sum_i S X_i C X_i' S as one product over (subject, coefficient) pairs.
            spread = xsc.transpose(1, 0, 2).reshape(k, -1) @ xs.transpose(1, 0, 2).reshape(k, -1).T
            g = len(r) * s_inv - rs.T @ rs - spread
            grad_sigma[np.ix_(pat.visits, pat.visits)] += g
        sign, logdet_a = np.linalg.slogdet(a)
        if sign <= 0:
            return float("inf"), np.zeros_like(theta)
        value = (self.n_obs - self.p) * np.log(2.0 * np.pi) + logdet + logdet_a + quad
        # d(-2 l_R) = tr(G dSigma) with G symmetric: the gradient is sum(G * dSigma/dtheta_j).
        grad = np.einsum("kl,jkl->j", grad_sigma, self.structure.derivatives(theta))
        return float(value), grad

    def hessian(self, theta: FloatArray) -> FloatArray:
        """Central differences of the analytic gradient, symmetrised."""
        q = len(theta)
        h = np.zeros((q, q))
        for j in range(q):
            step = 1e-5 * max(1.0, abs(float(theta[j])))
            up, down = theta.copy(), theta.copy()
            up[j] += step
            down[j] -= step
            h[:, j] = (self.value_and_gradient(up)[1] - self.value_and_gradient(down)[1]) / (2.0 * step)
        return (h + h.T) / 2.0

    def vcov_jacobian(self, theta: FloatArray, c: FloatArray, weighted: list[FloatArray]) -> FloatArray:
        """``dC/dtheta_j = C (sum_i X_i' S_i dSigma_i/dtheta_j S_i X_i) C`` for every ``j``."""
        outer = [np.einsum("mkp,mlq->klpq", xs, xs) for xs in weighted]
        out = np.zeros((len(theta), self.p, self.p))
        for j, d_sigma in enumerate(self.structure.derivatives(theta)):
            da = np.zeros((self.p, self.p))
            for pat, q in zip(self.patterns, outer, strict=True):
                da += np.einsum("kl,klpq->pq", d_sigma[np.ix_(pat.visits, pat.visits)], q)
            out[j] = c @ da @ c
        return out


def kr_terms(
    reml: Reml,
    theta: FloatArray,
    theta_vcov: FloatArray,
    weighted: list[FloatArray],
    inverses: list[FloatArray],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``P_i``, ``Q_ij``, ``R_ij`` and ``W`` of ``MmrmFit.kenward_roger_vcov``, in the natural
    parameters ``phi`` of ``covariance`` (``W_phi = J W_theta J'``, ``J = dphi/dtheta``; first and
    second derivatives of ``Sigma(phi)`` by central differences, exact for the linear structures).
    """
    structure = reml.structure
    q = len(theta)
    phi = structure.natural(theta)
    steps = 1e-5 * np.maximum(1.0, np.abs(theta))
    jacobian = np.column_stack(
        [
            (
                structure.natural(theta + steps[j] * np.eye(q)[j])
                - structure.natural(theta - steps[j] * np.eye(q)[j])
            )
            / (2.0 * steps[j])
            for j in range(q)
        ]
    )
    w = jacobian @ theta_vcov @ jacobian.T
    h = 1e-4 * np.maximum(1.0, np.abs(phi))
    unit = np.eye(q)

    def at(shift: FloatArray) -> FloatArray:
        return structure.sigma_natural(phi + shift)

    d1 = np.array([(at(h[i] * unit[i]) - at(-h[i] * unit[i])) / (2.0 * h[i]) for i in range(q)])
    d2 = np.zeros((q, q, reml.t, reml.t))
    if structure.code not in ("us", "cs"):  # Sigma is linear in phi for us and cs
        for i in range(q):
            for j in range(q):
                hi, hj = h[i] * unit[i], h[j] * unit[j]
                d2[i, j] = (at(hi + hj) - at(hi - hj) - at(-hi + hj) + at(-hi - hj)) / (4.0 * h[i] * h[j])
    p_terms = np.zeros((q, reml.p, reml.p))
    q_terms = np.zeros((q, q, reml.p, reml.p))
    r_terms = np.zeros((q, q, reml.p, reml.p))
    for pat, xs, s_inv in zip(reml.patterns, weighted, inverses, strict=True):
        ix = pat.visits
        outer = np.einsum("mkp,mlq->klpq", xs, xs)
        dp = d1[:, ix][:, :, ix]
        p_terms -= np.einsum("jkl,klab->jab", dp, outer)
        middle = np.einsum("ikl,lm,jmn->ijkn", dp, s_inv, dp)
        q_terms += np.einsum("ijkl,klab->ijab", middle, outer)
        r_terms += np.einsum("ijkl,klab->ijab", d2[:, :, ix][:, :, :, ix], outer)
    return p_terms, q_terms, r_terms, w
