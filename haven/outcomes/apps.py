from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "haven.outcomes"
    label = "outcomes"
    verbose_name = "Outcomes: instruments, responses, the patient portal"
