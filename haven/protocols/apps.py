from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "haven.protocols"
    label = "protocols"
