from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "haven.dosing"
    label = "dosing"
