"""The `haven` command: demo, createstaff, audit verify, and the production safety check."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from haven.accounts.models import Site, SiteMembership, User
from haven.accounts.services import assert_safe_to_serve
from haven.audit.models import AuditEntry
from haven.demo.services import DEMO_USERS

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[3]


def _run(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command(*args, stdout=out)
    finally:
        sys.stdin = old_stdin
    return out.getvalue()


def test_demo_loads_every_role_and_prints_the_logins() -> None:
    output = _run("demo")
    assert "password for all: haven-demo-password" in output
    assert "auditor" in output
    assert User.objects.filter(is_demo=True).count() == len(DEMO_USERS)
    assert set(SiteMembership.objects.values_list("role", flat=True)) >= {
        "therapist",
        "physician",
        "coordinator",
        "pharmacist",
        "blinded_rater",
        "data_manager",
        "sponsor_monitor",
        "auditor",
        "site_admin",
    }


def test_demo_is_idempotent() -> None:
    _run("demo")
    counts = (User.objects.count(), SiteMembership.objects.count(), AuditEntry.objects.count())
    _run("demo")
    assert (User.objects.count(), SiteMembership.objects.count(), AuditEntry.objects.count()) == counts


def test_production_refuses_to_serve_with_demo_accounts() -> None:
    _run("demo")
    with override_settings(PRODUCTION=True), pytest.raises(ImproperlyConfigured, match="demo accounts exist"):
        assert_safe_to_serve()


def test_production_serves_without_demo_accounts() -> None:
    with override_settings(PRODUCTION=True):
        assert_safe_to_serve()


def test_demo_is_refused_in_production() -> None:
    with (
        override_settings(PRODUCTION=True),
        pytest.raises(ImproperlyConfigured, match="refused when HAVEN_ENV=production"),
    ):
        _run("demo")
    assert not User.objects.exists()


def test_createstaff_creates_user_roles_and_site_and_audits_them() -> None:
    output = _run(
        "createstaff",
        "--username=jo",
        "--email=jo@clinic.example",
        "--name=Dr Jo March",
        "--site=Willow Clinic",
        "--new-site-time-zone=America/Chicago",
        "--role=physician",
        "--role=site_admin",
        "--password-stdin",
        stdin="a long enough passphrase 77\n",
    )
    assert "Created jo (physician, site_admin) at Willow Clinic" in output
    user = User.objects.get(username="jo")
    assert user.check_password("a long enough passphrase 77")
    assert user.printed_name == "Dr Jo March"
    assert sorted(SiteMembership.objects.filter(user=user).values_list("role", flat=True)) == [
        "physician",
        "site_admin",
    ]
    assert AuditEntry.objects.filter(actor_name__startswith="haven createstaff").count() == 4


def test_createstaff_refuses_a_weak_password_and_creates_nothing() -> None:
    with pytest.raises(CommandError, match="password: This password is too short"):
        _run(
            "createstaff",
            "--username=jo",
            "--email=jo@clinic.example",
            "--name=Jo",
            "--site=Willow Clinic",
            "--new-site-time-zone=UTC",
            "--role=therapist",
            "--password-stdin",
            stdin="short\n",
        )
    assert not User.objects.exists()
    assert not Site.objects.exists()
    assert not AuditEntry.objects.exists()


def test_createstaff_needs_an_existing_site_or_a_time_zone() -> None:
    with pytest.raises(CommandError, match="site: no site named 'Nowhere'"):
        _run(
            "createstaff",
            "--username=jo",
            "--email=jo@clinic.example",
            "--name=Jo",
            "--site=Nowhere",
            "--role=therapist",
            "--password-stdin",
            stdin="a long enough passphrase 77\n",
        )


def test_audit_verify_reports_an_intact_chain_and_its_head() -> None:
    _run("demo")
    output = _run("audit", "verify")
    count = AuditEntry.objects.count()
    assert f"Audit trail intact: {count} entries verified." in output
    assert f"Head: #{count} {AuditEntry.objects.get(seq=count).hash}" in output


def test_the_haven_console_command_runs_management_commands(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "DJANGO_"))}
    env["HAVEN_DATA_DIR"] = str(tmp_path)
    haven = Path(sys.executable).with_name("haven")
    migrate = subprocess.run(
        [haven, "migrate", "-v0"], env=env, cwd=REPO, capture_output=True, text=True, check=False
    )
    assert migrate.returncode == 0, migrate.stderr
    verify = subprocess.run(
        [haven, "audit", "verify"], env=env, cwd=REPO, capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stderr
    assert "Audit trail intact: 0 entries verified." in verify.stdout
