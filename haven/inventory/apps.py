from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "haven.inventory"
    label = "inventory"
    verbose_name = "Controlled-substance ledger"
