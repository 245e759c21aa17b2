"""Start the audit chain and make the audit tables append-only in the database itself."""

from django.db import migrations

from haven.audit import triggers
from haven.audit.canonical import GENESIS_HASH


def forwards(apps, schema_editor):
    apps.get_model("audit", "AuditChainHead").objects.create(id=1, last_seq=0, last_hash=GENESIS_HASH)
    triggers.install(schema_editor.connection)


def backwards(apps, schema_editor):
    triggers.remove(schema_editor.connection)
    apps.get_model("audit", "AuditChainHead").objects.filter(id=1).delete()


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
