"""Visit notes: autosaved drafts, signing and locking by the author, signed addenda."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import transaction

from haven.accounts.models import Role, User
from haven.accounts.selectors import roles_for
from haven.accounts.signing import reauthenticate
from haven.audit.context import Actor
from haven.audit.models import SignatureMeaning
from haven.audit.services import audit_create, audit_update, diff, snapshot
from haven.audit.signatures import signature_record
from haven.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from haven.core.time import now
from haven.patients.models import (
    Visit,
    VisitNote,
    VisitNoteAddendum,
    VisitStatus,
)
from haven.patients.roles import (
    NOTE_ROLES,
    RATER_VISIT_KINDS,
)
from haven.patients.services.common import (
    _require_role,
    _text,
)
from haven.protocols.selectors import protocol_of


# Visit notes ------------------------------------------------------------------------------------
def _note_headings(visit: Visit) -> tuple[str, ...]:
    return protocol_of(visit.course.protocol_version).visit(visit.definition_code).note_template


def _check_note_author(actor: Actor, visit: Visit) -> User:
    user = _require_role(actor, visit.course.site, NOTE_ROLES, "Writing a visit note")
    roles = roles_for(user, visit.course.site)
    clinical = {Role.THERAPIST, Role.PHYSICIAN, Role.COORDINATOR}
    if not roles & clinical and visit.kind not in RATER_VISIT_KINDS:
        raise PermissionDenied("A blinded rater documents assessment and follow-up visits only.")
    return user


def visit_note_save(
    *,
    actor: Actor,
    visit: Visit,
    sections: Mapping[str, str],
    free_text: str,
    attendees: Iterable[User],
    duration_minutes: int,
) -> VisitNote:
    """Create or update the draft note of a visit (autosaved; locked only by signing)."""
    user = _check_note_author(actor, visit)
    headings = _note_headings(visit)
    unknown = [h for h in sections if h not in headings]
    if unknown:
        raise field_error(
            "sections",
            f"{unknown[0]!r} is not a heading of this visit's note ({', '.join(headings) or 'none'})",
        )
    if not 1 <= duration_minutes <= 24 * 60:
        raise field_error("duration_minutes", "must be between 1 and 1440")
    people = list(attendees)
    site_members = set(visit.course.site.memberships.values_list("user_id", flat=True))
    if any(p.pk not in site_members for p in people):
        raise field_error("attendees", "must be staff of this site")
    clean = {h: (sections.get(h) or "").strip() for h in headings}
    with transaction.atomic():
        note = VisitNote.objects.select_for_update().filter(visit=visit).first()
        if note is not None and note.locked_at is not None:
            raise Conflict("The note is signed and locked; add an addendum instead.")
        if note is None:
            note = VisitNote.objects.create(
                visit=visit,
                sections=clean,
                free_text=free_text.strip(),
                duration_minutes=duration_minutes,
                author=user,
            )
            note.attendees.set(people)
            audit_create(
                actor=actor,
                instance=note,
                fields=("visit", "sections", "free_text", "duration_minutes"),
                site_id=visit.course.site.public_id,
            )
            return note
        before = snapshot(note, ("sections", "free_text", "duration_minutes")) | {
            "attendees": sorted(str(u.public_id) for u in note.attendees.all())
        }
        note.sections, note.free_text, note.duration_minutes = clean, free_text.strip(), duration_minutes
        note.save()
        note.attendees.set(people)
        after = snapshot(note, ("sections", "free_text", "duration_minutes")) | {
            "attendees": sorted(str(u.public_id) for u in people)
        }
        changes = diff(before, after)
        if changes:
            # A draft is the author's working copy; its edits are kept, with a standing reason.
            audit_update(
                actor=actor,
                instance=note,
                changes=changes,
                site_id=visit.course.site.public_id,
                reason="draft autosaved",
            )
    return note


def visit_note_sign(*, actor: Actor, note: VisitNote, password: str, otp_code: str = "") -> VisitNote:
    """Sign and lock a note; the visit is then completed. Attendance must meet the protocol."""
    # Read the visit and note afresh: the caller's copies may predate the visit being recorded.
    note = VisitNote.objects.select_related("visit__course__site", "visit__course__protocol_version").get(
        pk=note.pk
    )
    visit = note.visit
    _check_note_author(actor, visit)
    if visit.status != VisitStatus.OCCURRED:
        raise ValidationFailed(
            "visit: record the day the visit took place before signing its note",
            fields={"visit": ["not recorded as taken place"]},
            code="visit_not_occurred",
        )
    if note.locked_at is not None:
        raise Conflict("The note is already signed.")
    if actor.user is None or note.author_id != actor.user.pk:
        raise PermissionDenied(
            f"Only the note's author ({note.author.printed_name}) signs it; others add a signed addendum."
        )
    need = protocol_of(visit.course.protocol_version).visit(visit.definition_code).staff
    attendees = list(note.attendees.all())
    for staff in need:
        present = [u for u in attendees if Role(staff.role.value) in roles_for(u, visit.course.site)]
        if len(present) < staff.count:
            raise field_error(
                "attendees",
                f"this visit needs {staff.count} {staff.role.value}(s) present; the note lists {len(present)}",
            )
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    with transaction.atomic():
        note = VisitNote.objects.select_for_update().get(pk=note.pk)
        note.locked_at = now()
        note.save(update_fields=["locked_at", "updated_at"])
        signature_record(actor=actor, record=note, meaning=SignatureMeaning.AUTHORED)
        visit = Visit.objects.select_for_update().get(pk=visit.pk)
        visit.status, visit.duration_minutes = VisitStatus.COMPLETED, note.duration_minutes
        visit.save(update_fields=["status", "duration_minutes", "updated_at"])
        audit_update(
            actor=actor,
            instance=visit,
            changes={"status": {"old": "occurred", "new": "completed"}},
            site_id=visit.course.site.public_id,
            reason="note signed",
        )
    return note


def visit_note_addendum(
    *, actor: Actor, note: VisitNote, text: str, password: str, otp_code: str = ""
) -> VisitNoteAddendum:
    author = _check_note_author(actor, note.visit)
    text = _text("text", text, max_length=20000)
    if note.locked_at is None:
        raise ValidationFailed(
            "note: an addendum is for a signed note; edit the draft instead", code="note_not_locked"
        )
    reauthenticate(actor=actor, password=password, otp_code=otp_code)
    with transaction.atomic():
        addendum = VisitNoteAddendum.objects.create(note=note, text=text, author=author)
        audit_create(
            actor=actor, instance=addendum, fields=("note", "text"), site_id=note.visit.course.site.public_id
        )
        signature_record(actor=actor, record=addendum, meaning=SignatureMeaning.AUTHORED)
    return addendum
