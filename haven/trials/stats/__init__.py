"""The trial analysis engine: pure numerics (numpy, scipy, statsmodels), no Django.

Every function documents its formula and references; every analysis is tested against reference
output from R stored in ``haven/trials/tests/reference`` with the script that produced it.

- ``mmrm``: MMRM by REML with an unstructured covariance, LS means, contrasts, Satterthwaite df.
- ``design``: model matrices and the LS-means reference grid shared by the models.
"""
