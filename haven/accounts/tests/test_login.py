"""Login with a second factor, lockout, idle timeout, log out everywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts.models import Role, User
from haven.audit.models import AuditEntry
from haven.core.testing import PASSWORD, Cast, client_for, grant, make_user, otp_code

pytestmark = pytest.mark.django_db


def _password_step(client: Client, login: str, password: str = PASSWORD) -> str:
    response = client.post("/login/", {"username": login, "password": password})
    return response.headers.get("Location", "") if response.status_code == 302 else response.content.decode()


def test_it_asks_for_the_authenticator_code_after_the_password(cast: Cast) -> None:
    client = Client()
    assert _password_step(client, "alice") == "/login/verify/"
    assert "_auth_user_id" not in client.session  # not signed in until the second factor
    assert client.get("/").status_code == 302


def test_it_signs_in_with_password_and_code(cast: Cast) -> None:
    client = Client()
    _password_step(client, "alice")
    response = client.post("/login/verify/", {"otp_code": otp_code(cast.alice)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert "Welcome, Dr Alice Adams" in home.content.decode()
    assert "Alder Clinic" in home.content.decode()
    login = AuditEntry.objects.filter(action="login", actor_user=cast.alice).get()
    assert login.changes["method"]["new"] == "password + authenticator"


def test_it_accepts_the_email_address_as_login(cast: Cast) -> None:
    assert _password_step(Client(), "ALICE@example.test") == "/login/verify/"


def test_a_wrong_code_is_refused_and_recorded(cast: Cast) -> None:
    client = Client()
    _password_step(client, "alice")
    wrong = "000000" if otp_code(cast.alice) != "000000" else "111111"
    response = client.post("/login/verify/", {"otp_code": wrong})
    assert response.status_code == 200
    assert "Incorrect or expired code." in response.content.decode()
    assert "_auth_user_id" not in client.session
    failure = AuditEntry.objects.filter(action="login_failed", record_id=str(cast.alice.public_id)).get()
    assert failure.changes["why"]["new"] == "wrong authenticator code"


def test_a_wrong_password_gives_one_message_for_every_cause(cast: Cast) -> None:
    wrong_password = _password_step(Client(), "alice", "not the password at all")
    unknown_user = _password_step(Client(), "nobody-here", PASSWORD)
    assert "Username or password is incorrect." in wrong_password
    assert "Username or password is incorrect." in unknown_user
    assert AuditEntry.objects.filter(action="login_failed").count() == 2


def test_it_locks_the_account_after_five_failures(cast: Cast) -> None:
    for _ in range(5):
        _password_step(Client(), "ben", "wrong password!")
    cast.ben.refresh_from_db()
    assert cast.ben.locked_until is not None
    assert AuditEntry.objects.filter(action="lockout", record_id=str(cast.ben.public_id)).count() == 1
    # Even the right password is refused while locked.
    page = _password_step(Client(), "ben", PASSWORD)
    assert "This account is locked after repeated failed logins" in page


def test_the_lock_ends_after_its_duration(cast: Cast) -> None:
    for _ in range(5):
        _password_step(Client(), "ben", "wrong password!")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert _password_step(Client(), "ben", PASSWORD) == "/login/verify/"


def test_wrong_codes_count_towards_lockout(cast: Cast) -> None:
    wrong = "000000" if otp_code(cast.ben) != "000000" else "111111"
    for _ in range(5):
        client = Client()
        _password_step(client, "ben")
        client.post("/login/verify/", {"otp_code": wrong})
    cast.ben.refresh_from_db()
    assert cast.ben.locked_until is not None


def test_a_signing_role_without_an_authenticator_must_enrol_before_entering(cast: Cast) -> None:
    newcomer = make_user("nadia", "Nadia Petrova", mfa=False)
    grant(newcomer, cast.site_a, Role.COORDINATOR)
    client = Client()
    assert _password_step(client, "nadia") == "/login/authenticator/"
    page = client.get("/login/authenticator/").content.decode()
    assert "<svg" in page
    assert "_auth_user_id" not in client.session
    device = TOTPDevice.objects.get(user=newcomer, confirmed=False)
    assert client.get("/").status_code == 302
    response = client.post("/login/authenticator/", {"otp_code": _code_of(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.session["_auth_user_id"] == str(newcomer.pk)


def _code_of(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_roles_that_never_sign_may_log_in_with_password_only(cast: Cast) -> None:
    client = Client()
    assert _password_step(client, "avery") == "/"
    assert client.session["_auth_user_id"] == str(cast.avery.pk)


def test_demo_accounts_skip_the_second_factor_outside_production(cast: Cast) -> None:
    demo = make_user("demo-therapist", "Demo Therapist", mfa=False, is_demo=True)
    grant(demo, cast.site_a, Role.THERAPIST)
    client = Client()
    assert _password_step(client, "demo-therapist") == "/"


def test_an_idle_session_ends_after_fifteen_minutes(cast: Cast) -> None:
    client = client_for(cast.alice)
    assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = client.get("/")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login/?next=%2F&ended=idle+timeout")
        assert "_auth_user_id" not in client.session
    logout = AuditEntry.objects.filter(action="logout", actor_user=cast.alice).get()
    assert logout.changes["why"]["new"] == "idle timeout"


def test_activity_keeps_the_session_alive(cast: Cast) -> None:
    client = client_for(cast.alice)
    start = timezone.now()
    for minutes in (10, 20, 30):
        with time_machine.travel(start + timedelta(minutes=minutes)):
            assert client.get("/").status_code == 200


def test_the_api_answers_401_in_the_envelope_after_idle_timeout(cast: Cast) -> None:
    client = client_for(cast.alice)
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_log_out_everywhere_ends_every_session(cast: Cast) -> None:
    tablet, desk = client_for(cast.alice), client_for(cast.alice)
    response = desk.post("/account/sessions/end-all/")
    assert response.status_code == 302
    ended = tablet.get("/")
    assert ended.status_code == 302
    assert "ended=session+ended+by+log+out+everywhere" in ended.headers["Location"]
    assert tablet.get("/").headers["Location"].startswith("/login/")  # stays signed out
    assert User.objects.get(pk=cast.alice.pk).session_generation == 1
    assert AuditEntry.objects.filter(action="logout", actor_user=cast.alice).exists()


def test_logout_requires_post_and_ends_the_session(cast: Cast) -> None:
    client = client_for(cast.alice)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.headers["Location"] == "/login/?ended=logout"
    assert client.get("/").status_code == 302


def test_an_open_redirect_is_not_followed(cast: Cast) -> None:
    response = Client().post(
        "/login/?next=https://evil.example/", {"username": "avery", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_an_authenticator_code_is_accepted_once_only(cast: Cast) -> None:
    code = otp_code(cast.alice)
    first = Client()
    _password_step(first, "alice")
    assert first.post("/login/verify/", {"otp_code": code}).status_code == 302
    second = Client()
    _password_step(second, "alice")
    replay = second.post("/login/verify/", {"otp_code": code})
    assert "Incorrect or expired code." in replay.content.decode()
    assert "_auth_user_id" not in second.session
