"""Mixed model for repeated measures (MMRM) by REML, unstructured or structured covariance.

The model for subject ``i`` observed at the visits ``V_i`` is ``y_i = X_i beta + e_i`` with
``e_i ~ N(0, Sigma[V_i, V_i])``, subjects independent, ``Sigma`` a ``T x T`` covariance matrix over
the ``T`` visits: unstructured by default, or one of the structures in ``covariance``. Missing visits
are left out of ``V_i`` (every observed row is used), which is valid when data are missing at random.

``Sigma = Sigma(theta)`` with unconstrained parameters ``theta``; unstructured, ``Sigma = L L'`` with
``L`` lower triangular, ``theta`` its entries row by row with the diagonal on the log scale, so that
any ``theta`` gives a positive definite ``Sigma``. ``theta`` maximises the REML likelihood (``reml``:
BFGS with the analytic gradient, then Newton steps).

Inference on ``k' beta`` uses ``C = (X' V^-1 X)^-1`` as its covariance and Satterthwaite's df
(Satterthwaite 1946; Fai & Cornelius 1996, as in SAS PROC MIXED ``DDFM=SATTERTHWAITE`` and the R
package mmrm)::

    df = 2 (k' C k)^2 / (g' W g),   g_j = k' (dC / dtheta_j) k,   dC/dtheta_j = C (X' V^-1 dV_j V^-1 X) C,

where ``W = 2 H^-1`` is the asymptotic covariance of ``theta_hat`` and ``H`` the Hessian of
``-2 l_R`` at the optimum (central differences of the analytic gradient). ``df`` does not depend on
how ``Sigma`` is parameterised.

Kenward-Roger inference (``df="kenward-roger"``, with ``mmrm_fit(..., kenward_roger=True)``) adjusts
the covariance of the coefficients for the estimation of ``theta`` and scales F (``MmrmFit``).

Subjects are grouped by their pattern of observed visits so that every sum is a few batched matrix
products, which keeps a fit of thousands of subjects well under a second.

References
----------
Mallinckrodt CH, Lane PW, Schnell D, Peng Y, Mancuso JP (2008). Recommendations for the primary
analysis of continuous endpoints in longitudinal clinical trials. Drug Inf J 42:303-319.
Fai AH-T, Cornelius PL (1996). Approximate F-tests of multiple degree of freedom hypotheses in
generalized least squares analyses of unbalanced split-plot experiments. J Stat Comput Simul 54:363-378.
Kenward MG, Roger JH (1997). Small sample inference for fixed effects from restricted maximum
likelihood. Biometrics 53:983-997.
Satterthwaite FE (1946). An approximate distribution of estimates of variance components.
Biometrics Bulletin 2:110-114.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, stats

from haven.trials.stats.covariance import Structure, StructureCode
from haven.trials.stats.design import Design, build_design
from haven.trials.stats.inference import Estimate, t_inference
from haven.trials.stats.reml import Reml, kr_terms, patterns

FloatArray = npt.NDArray[np.float64]
DfMethod = Literal["satterthwaite", "kenward-roger"]


@dataclass(frozen=True)
class FTest:
    """An F test of ``L beta = 0``: ``F`` on ``df1`` and ``df2`` degrees of freedom, upper-tail ``p``."""

    term: str
    f: float
    df1: int
    df2: float
    p: float


@dataclass(frozen=True)
class MmrmFit:
    """A fitted MMRM: coefficients, their covariance, the visit covariance matrix and what df need."""

    design: Design
    structure: StructureCode
    coef: FloatArray
    vcov: FloatArray
    covariance: FloatArray
    theta: FloatArray
    theta_vcov: FloatArray
    vcov_jacobian: FloatArray  # (q, p, p): dC/dtheta_j
    reml_loglik: float
    n_obs: int
    n_subjects: int
    converged: bool
    # Kenward-Roger terms (only with ``mmrm_fit(..., kenward_roger=True)``): P_j, Q_ij and R_ij.
    kr_p: FloatArray | None = None
    kr_q: FloatArray | None = None
    kr_r: FloatArray | None = None
    kr_w: FloatArray | None = None

    def _kr(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        if self.kr_p is None or self.kr_q is None or self.kr_r is None or self.kr_w is None:
            raise ValueError("fit with kenward_roger=True for Kenward-Roger inference")
        return self.kr_p, self.kr_q, self.kr_r, self.kr_w

    def kenward_roger_vcov(self) -> FloatArray:
        """Kenward-Roger's adjusted covariance of the coefficients (Kenward & Roger 1997, eq. 3)::

            Phi_A = Phi + 2 Phi [sum_ij W_ij (Q_ij - P_i Phi P_j - R_ij / 4)] Phi,

        with ``Phi = (X' V^-1 X)^-1``, ``P_i = -X' V^-1 (dV/dtheta_i) V^-1 X``,
        ``Q_ij = X' V^-1 (dV/dtheta_i) V^-1 (dV/dtheta_j) V^-1 X``,
        ``R_ij = X' V^-1 (d2V/dtheta_i dtheta_j) V^-1 X`` and ``W`` the covariance of ``theta_hat``
        (the inverse observed REML information, as for Satterthwaite).

        ``Phi_A`` depends on how ``Sigma`` is parameterised where ``R_ij`` is not zero, so it is
        computed in SAS PROC MIXED's natural parameters (``covariance``): for us (the elements of
        ``Sigma``) and cs ``Sigma`` is linear and ``R_ij = 0``; ar1, csh and arh1 keep ``R_ij``. Their
        covariance is ``J W_theta J'`` with ``J`` the Jacobian of the natural parameters.
        """
        p, q, r, w = self._kr()
        phi = self.vcov
        inner = np.einsum("ij,ijab->ab", w, q - 0.25 * r) - np.einsum(
            "ij,iac,cd,jdb->ab", w, p, phi, p, optimize=True
        )
        adjusted: FloatArray = phi + 2.0 * phi @ inner @ phi
        return adjusted

    def kenward_roger_test(self, hypothesis: FloatArray, *, term: str = "") -> FTest:
        """Kenward-Roger F test of ``L beta = 0`` (``L`` with ``q`` independent rows).

        ``F = lambda (L b)' (L Phi_A L')^-1 (L b) / q`` on ``q`` and ``m`` df, where, with
        ``Theta = L' (L Phi L')^-1 L`` and ``F_i = Theta Phi P_i Phi``:
        ``A1 = sum W_ij tr(F_i) tr(F_j)``, ``A2 = sum W_ij tr(F_i F_j)``, ``B = (A1 + 6 A2) / 2q``,
        ``g = ((q + 1) A1 - (q + 4) A2) / ((q + 2) A2)``, ``c1 = g / (3q + 2(1 - g))``,
        ``c2 = (q - g) / (3q + 2(1 - g))``, ``c3 = (q + 2 - g) / (3q + 2(1 - g))``,
        ``E = 1 / (1 - A2 / q)``, ``V = (2 / q) (1 + c1 B) / ((1 - c2 B)^2 (1 - c3 B))``,
        ``rho = V / 2E^2``, ``m = 4 + (q + 2) / (q rho - 1)``, ``lambda = m / (E (m - 2))``
        (Kenward & Roger 1997, section 4). For ``q = 1``, ``lambda = 1`` and ``m`` is the
        Satterthwaite df computed with ``Phi``.
        """
        p, _, _, w = self._kr()
        phi = self.vcov
        q = hypothesis.shape[0]
        theta = hypothesis.T @ np.linalg.solve(hypothesis @ phi @ hypothesis.T, hypothesis)
        f_i = np.einsum("ab,bc,jcd,de->jae", theta, phi, p, phi)
        traces = np.einsum("jaa->j", f_i)
        a1 = float(traces @ w @ traces)
        a2 = float(np.einsum("ij,iab,jba->", w, f_i, f_i))
        b = (a1 + 6.0 * a2) / (2.0 * q)
        g = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
        denom = 3.0 * q + 2.0 * (1.0 - g)
        c1, c2, c3 = g / denom, (q - g) / denom, (q + 2 - g) / denom
        e_star = 1.0 / (1.0 - a2 / q)
        v_star = (2.0 / q) * (1.0 + c1 * b) / ((1.0 - c2 * b) ** 2 * (1.0 - c3 * b))
        rho = v_star / (2.0 * e_star**2)
        m = 4.0 + (q + 2.0) / (q * rho - 1.0)
        lam = m / (e_star * (m - 2.0))
        lb = hypothesis @ self.coef
        adjusted = hypothesis @ self.kenward_roger_vcov() @ hypothesis.T
        f = lam * float(lb @ np.linalg.solve(adjusted, lb)) / q
        return FTest(term=term, f=f, df1=q, df2=m, p=float(stats.f.sf(f, q, m)))

    def satterthwaite_df(self, k: FloatArray) -> float:
        """Satterthwaite degrees of freedom of ``k' beta`` (formula in the module docstring)."""
        variance = float(k @ self.vcov @ k)
        g = np.einsum("p,jpq,q->j", k, self.vcov_jacobian, k)
        return float(2.0 * variance**2 / (g @ self.theta_vcov @ g))

    def estimate(
        self,
        k: FloatArray,
        *,
        label: str = "",
        arm: str = "",
        visit: str | None = None,
        level: float = 0.95,
        df: DfMethod = "satterthwaite",
    ) -> Estimate:
        """Estimate, SE, df, confidence interval, t and two-sided p of ``k' beta``.

        ``df="satterthwaite"``: SE from ``Phi``, Satterthwaite df. ``df="kenward-roger"``: SE from
        Kenward-Roger's ``Phi_A`` and their df (for one contrast, the Satterthwaite df).
        """
        if df == "kenward-roger":
            se = float(np.sqrt(k @ self.kenward_roger_vcov() @ k))
            dof = self.kenward_roger_test(k[None, :]).df2
        elif df == "satterthwaite":
            se, dof = float(np.sqrt(k @ self.vcov @ k)), self.satterthwaite_df(k)
        else:
            raise ValueError(f"unknown df method {df!r}; use 'satterthwaite' or 'kenward-roger'")
        return t_inference(
            estimate=float(k @ self.coef),
            se=se,
            df=dof,
            label=label,
            arm=arm,
            visit=visit,
            level=level,
        )

    def f_test(self, hypothesis: FloatArray, *, term: str = "") -> FTest:
        """F test of ``L beta = 0`` (``L`` of full row rank) with Fai-Cornelius denominator df.

        ``F = (L b)' (L C L')^-1 (L b) / q`` with ``q`` the rows of ``L``. Decomposing
        ``L C L' = P D P'``, each row ``k_m`` of ``P' L`` is a single-df contrast with Satterthwaite
        df ``nu_m``; with ``E = sum_{nu_m > 2} nu_m / (nu_m - 2)``, ``df2 = 2 E / (E - q)`` when
        ``E > q`` (otherwise NaN). For ``q = 1`` this is the Satterthwaite df of the t test
        (Fai & Cornelius 1996; SAS PROC MIXED ``DDFM=SATTERTHWAITE``; lmerTest's ``contestMD``).
        """
        q = hypothesis.shape[0]
        lcl = hypothesis @ self.vcov @ hypothesis.T
        lb = hypothesis @ self.coef
        f = float(lb @ np.linalg.solve(lcl, lb)) / q
        _, vectors = np.linalg.eigh(lcl)
        nu = np.array([self.satterthwaite_df(k) for k in vectors.T @ hypothesis])
        e = float(np.sum(np.where(nu > 2.0, nu / np.where(nu > 2.0, nu - 2.0, 1.0), 0.0)))
        df2 = 2.0 * e / (e - q) if e > q else float("nan")
        return FTest(term=term, f=f, df1=q, df2=df2, p=float(stats.f.sf(f, q, df2)))

    def type3(self, *, df: DfMethod = "satterthwaite") -> list[FTest]:
        """Type 3 F tests of arm, visit, each covariate and arm-by-visit, in that order.

        ``df="satterthwaite"``: ``f_test`` (Fai-Cornelius); ``df="kenward-roger"``:
        ``kenward_roger_test``.

        Each hypothesis is stated on the LS-means grid (as SAS Type 3 and ``emmeans::joint_tests``):
        arm, differences of consecutive arms' LS means averaged over visits; visit, of consecutive
        visits averaged over arms; arm-by-visit, the products of the two; a categorical covariate,
        differences of consecutive levels (its indicator columns); a numeric covariate, its slope
        (averaged over visits with equal weights when it has one per visit, followed then by a
        ``visit:<covariate>`` test of differences between consecutive visits' slopes).
        The tests do not depend on the reference levels chosen for the coding.
        """
        test = self.kenward_roger_test if df == "kenward-roger" else self.f_test
        d = self.design
        cells = np.array([[d.grid_row(arm=a, visit=v) for v in d.visits] for a in d.arms])
        arm_means = cells.mean(axis=1)
        visit_means = cells.mean(axis=0)
        tests = [
            test(arm_means[1:] - arm_means[:-1], term="arm"),
            test(visit_means[1:] - visit_means[:-1], term="visit"),
        ]
        names = d.column_names
        for cov in d.covariates:
            if cov.categorical:
                cols = [names.index(f"{cov.name}{lv}") for lv in cov.levels[1:]]
                indicators = np.zeros((len(cols), len(names)))
                indicators[np.arange(len(cols)), cols] = 1.0
                rows = indicators - np.vstack([np.zeros(len(names)), indicators[:-1]])
            else:
                rows = np.zeros((1, len(names)))
                rows[0, names.index(cov.name)] = 1.0
                if cov.by_visit:
                    # The slope averaged over visits with equal weights.
                    for v in d.visits[1:]:
                        rows[0, names.index(f"{d.visit_name}{v}:{cov.name}")] = 1.0 / len(d.visits)
            tests.append(test(rows, term=cov.name))
        d_arm = cells[1:] - cells[:-1]
        inter = d_arm[:, 1:] - d_arm[:, :-1]
        tests.append(test(inter.reshape(-1, len(names)), term="arm:visit"))
        for cov in d.covariates:
            if cov.by_visit:
                # Differences of consecutive visits' slopes.
                slopes = np.zeros((len(d.visits), len(names)))
                for j, v in enumerate(d.visits[1:], start=1):
                    slopes[j, names.index(f"{d.visit_name}{v}:{cov.name}")] = 1.0
                tests.append(test(slopes[1:] - slopes[:-1], term=f"visit:{cov.name}"))
        return tests

    def summary(self, *, level: float = 0.95, df: DfMethod = "satterthwaite") -> dict[str, Any]:
        """Everything a report prints, as plain JSON-ready values: the fit, coefficients with SEs,
        the visit covariance matrix, LS means, contrasts against the reference and Type 3 tests."""
        vcov = self.kenward_roger_vcov() if df == "kenward-roger" else self.vcov
        return {
            "model": {
                "covariance": self.structure,
                "df": df,
                "n_obs": self.n_obs,
                "n_subjects": self.n_subjects,
                "reml_loglik": self.reml_loglik,
                "converged": self.converged,
                "arms": list(self.design.arms),
                "visits": list(self.design.visits),
            },
            "coefficients": [
                {"name": name, "estimate": float(b), "se": float(np.sqrt(vcov[i, i]))}
                for i, (name, b) in enumerate(zip(self.design.column_names, self.coef, strict=True))
            ],
            "visit_covariance": self.covariance.tolist(),
            "lsmeans": [asdict(e) for e in self.lsmeans(level=level, df=df)],
            "contrasts": [asdict(e) for e in self.contrasts(level=level, df=df)],
            "type3": [asdict(t) for t in self.type3(df=df)],
        }

    def lsmeans(self, *, level: float = 0.95, df: DfMethod = "satterthwaite") -> list[Estimate]:
        """Least-squares means of every arm at every visit (visit-major, arms in design order).

        Each LS mean is ``k' beta`` for the reference-grid row of ``Design.grid_row``: equal weights
        over the levels of categorical covariates, numeric covariates at their mean.
        """
        d = self.design
        return [
            self.estimate(d.grid_row(arm=a, visit=v), label=f"{a} {v}", arm=a, visit=v, level=level, df=df)
            for v in d.visits
            for a in d.arms
        ]

    def contrasts(self, *, level: float = 0.95, df: DfMethod = "satterthwaite") -> list[Estimate]:
        """Each arm minus the reference arm at each visit (difference of LS means)."""
        d = self.design
        ref = d.arms[0]
        return [
            self.estimate(
                d.grid_row(arm=a, visit=v) - d.grid_row(arm=ref, visit=v),
                label=f"{a} - {ref} {v}",
                arm=a,
                visit=v,
                level=level,
                df=df,
            )
            for v in d.visits
            for a in d.arms[1:]
        ]


def mmrm_fit(
    data: pd.DataFrame,
    *,
    outcome: str,
    subject: str,
    visit: str,
    arm: str,
    covariates: Sequence[str] = (),
    reference: str | None = None,
    visit_order: Sequence[str] | None = None,
    covariance: StructureCode = "us",
    arm_order: Sequence[str] | None = None,
    kenward_roger: bool = False,
    by_visit: Sequence[str] = (),
) -> MmrmFit:
    """Fit ``outcome ~ arm * visit + covariates`` by REML with an unstructured visit covariance.

    Parameters
    ----------
    data
        One row per subject and visit (ADaM BDS-shaped, e.g. ADQS). Rows with a missing outcome or
        covariate are dropped: every observed row is used, which is the MAR analysis.
    outcome, subject, visit, arm
        Column names.
    covariates
        Further columns; numeric ones enter linearly, others as factors (see ``design``).
    reference
        The control arm; by default the first arm in sorted order.
    visit_order
        Visits in time order; by default sorted.
    arm_order
        Arms in output order (e.g. by dose); by default sorted, the reference first.
    by_visit
        Numeric covariates that also get a slope per visit (e.g. ``["BASE"]`` for baseline by visit).
    kenward_roger
        Also compute the terms of Kenward-Roger inference (``df="kenward-roger"``).
    covariance
        The visit covariance structure: ``us`` (unstructured), ``cs``, ``csh``, ``ar1`` or ``arh1``
        (see ``covariance``).

    Returns
    -------
    MmrmFit
        With ``lsmeans()`` and ``contrasts()`` at Satterthwaite degrees of freedom.

    Notes
    -----
    Formulas and references are in the module docstring. Matches ``nlme::gls`` with
    ``corSymm`` + ``varIdent`` by REML (see ``tests/reference/mmrm_fev.R``).
    """
    needed = [outcome, subject, visit, arm, *covariates]
    rows = data.loc[data[needed].notna().all(axis=1), needed]
    design = build_design(
        rows,
        arm=arm,
        visit=visit,
        covariates=covariates,
        reference=reference,
        visit_order=visit_order,
        arm_order=arm_order,
        by_visit=by_visit,
    )
    x = design.x
    y = rows[outcome].to_numpy(dtype=np.float64)
    visit_index = {v: i for i, v in enumerate(design.visits)}
    visit_codes = np.array([visit_index[v] for v in rows[visit].astype(str)], dtype=np.intp)
    subjects = rows[subject].astype(str).to_numpy(dtype=object)
    n_visits = len(design.visits)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError("the design matrix is rank deficient (an arm, visit or level without data?)")
    pattern_list = patterns(x, y, subjects, visit_codes, n_visits)
    reml = Reml(pattern_list, Structure(covariance, n_visits), len(y), x.shape[1])

    # Start from the per-visit variances of the OLS residuals, uncorrelated.
    beta_ols, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta_ols
    var0 = np.array([np.mean(resid[visit_codes == v] ** 2) for v in range(n_visits)])
    theta = reml.structure.start(np.maximum(var0, 1e-8 * float(np.var(y)) + 1e-300))
    # A trial step can overflow exp() or leave Sigma singular; the criterion is then +inf and the line
    # search steps back, so those floating-point warnings are expected, not errors.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = optimize.minimize(
            reml.value_and_gradient, theta, jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 1000}
        )
    theta = np.asarray(result.x, dtype=np.float64)
    # Newton polish: BFGS stops near the optimum; Newton steps with the Hessian there reach it to
    # machine precision. The Hessian is needed for the degrees of freedom anyway; it is computed
    # again only if the polish moved theta.
    hess = reml.hessian(theta)
    moved = False
    value, grad = reml.value_and_gradient(theta)
    for _ in range(8):
        if np.max(np.abs(grad)) < 1e-9:
            break
        step = np.linalg.solve(hess, grad)
        candidate = theta - step
        cand_value, cand_grad = reml.value_and_gradient(candidate)
        if cand_value > value:
            break
        theta, value, grad, moved = candidate, cand_value, cand_grad, True
        if np.max(np.abs(step)) < 1e-10:
            break
    if moved:
        hess = reml.hessian(theta)
    value, grad = reml.value_and_gradient(theta)
    sigma = reml.structure.sigma(theta)
    a, b, _, inverses, weighted = reml.gls(sigma)
    c = np.linalg.inv(a)
    theta_vcov = 2.0 * np.linalg.inv(hess)
    kr = kr_terms(reml, theta, theta_vcov, weighted, inverses) if kenward_roger else (None, None, None, None)
    return MmrmFit(
        design=design,
        structure=covariance,
        coef=c @ b,
        vcov=c,
        covariance=sigma,
        theta=theta,
        theta_vcov=theta_vcov,
        vcov_jacobian=reml.vcov_jacobian(theta, c, weighted),
        reml_loglik=-value / 2.0,
        n_obs=len(y),
        n_subjects=len(np.unique(subjects)),
        converged=bool(np.max(np.abs(grad)) < 1e-4),
        kr_p=kr[0],
        kr_q=kr[1],
        kr_r=kr[2],
        kr_w=kr[3],
    )
