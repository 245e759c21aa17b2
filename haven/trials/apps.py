from django.apps import AppConfig


class TrialsConfig(AppConfig):
    name = "haven.trials"
    label = "trials"
    verbose_name = "Trials: analyses (and, to come, randomization and blinding)"
