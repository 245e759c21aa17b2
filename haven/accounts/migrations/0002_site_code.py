import re

from django.db import migrations, models


def fill_codes(apps, schema_editor):
    Site = apps.get_model("accounts", "Site")
    used = set()
    for site in Site.objects.order_by("pk"):
        base = "".join(w[0] for w in re.findall(r"[A-Za-z]+", site.name)).upper()[:6] or "SITE"
        base = base if len(base) >= 2 else base + "X"
        code, n = base, 1
        while code in used:
            n += 1
            code = f"{base}{n}"
        used.add(code)
        site.code = code
        site.save(update_fields=["code"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.AddField(model_name="site", name="code", field=models.CharField(max_length=8, null=True)),
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="site",
            name="code",
            field=models.CharField(
                help_text="Short upper-case prefix of the site's study IDs, e.g. ALD in ALD-0001.", max_length=8, unique=True
            ),
        ),
        migrations.AddConstraint(
            model_name="site",
            constraint=models.CheckConstraint(condition=models.Q(code__regex="^[A-Z][A-Z0-9]{1,7}$"), name="site_code_format"),
        ),
    ]
