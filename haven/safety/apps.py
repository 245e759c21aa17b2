from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "haven.safety"
    label = "safety"
