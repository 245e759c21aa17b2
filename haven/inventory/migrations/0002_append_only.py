"""The ledger is append-only in the database itself: UPDATE, DELETE and TRUNCATE are refused."""

from django.db import migrations

from haven.audit import triggers

TABLES = ("inventory_ledgerentry",)


def forwards(apps, schema_editor):
    triggers.install(schema_editor.connection, TABLES)


def backwards(apps, schema_editor):
    triggers.remove(schema_editor.connection, TABLES)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial"), ("audit", "0002_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
