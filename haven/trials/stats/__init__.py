"""The trial analysis engine: pure numerics (numpy, scipy, pandas), no Django.

Every function documents its formula and references; every analysis is tested against reference
output from R stored in ``haven/trials/tests/reference`` with the script that produced it.

- ``mmrm``: MMRM by REML, LS means, contrasts and Type 3 tests with Satterthwaite or Kenward-Roger df.
- ``reml``: the REML engine behind ``mmrm`` (criterion, gradient, Hessian, derivatives).
- ``covariance``: the visit covariance structures (us, cs, csh, ar1, arh1).
- ``ancova``: ANCOVA with LS means, pairwise contrasts and the dose-response test.
- ``proportions``: Wilson and exact intervals, risk differences, Fisher and chi-square tests.
- ``responses``: MAPP response categories (withdrawn, remission, loss of diagnosis, responder,
  non-responder) and their proportions by arm.
- ``effect_size``: Cohen's d and Hedges' g, between and within groups, noncentral-t intervals.
- ``incidence``: adverse-event incidence n (%) [events] by SOC, term and arm with Fisher p.
- ``survival``: Kaplan-Meier with numbers at risk, median and interval; the log-rank test.
- ``table1``: baseline characteristics by arm with ANOVA and chi-square p values.
- ``summary``: n, mean, SD, median, minimum and maximum, overall or by group.
- ``inference``: t-based estimates, intervals and p values shared by the models.
- ``design``: model matrices and the LS-means reference grid shared by the models.
"""
