"""A cheap Argon2 for the test suite only (settings_test), so building the cast stays fast.

Production uses Django's Argon2 defaults (settings.PASSWORD_HASHERS).
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64
    parallelism = 1
