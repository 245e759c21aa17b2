from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "haven.screening"
    label = "screening"
