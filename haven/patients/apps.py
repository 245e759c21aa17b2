from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "haven.patients"
    label = "patients"
