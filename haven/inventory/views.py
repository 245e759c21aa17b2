"""The pharmacist's page: balances by lot and location, open discrepancies, DEA clocks,
reconciliation, recent entries; receipts, dispenses and counts; the printable reports.

Other movements (transfers, returns, waste, destruction, loss, corrections, resolving a
discrepancy) go through the same services via the API (``/api/v1/inventory/``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from haven.accounts.actors import actor_for
from haven.accounts.models import SIGNING_ROLES, Site, User
from haven.accounts.selectors import roles_for, staff_list
from haven.core.errors import DomainError, NotFound
from haven.core.forms import attach_error
from haven.core.time import now
from haven.dosing.models import DosingSession, SessionStatus
from haven.inventory import selectors, services
from haven.inventory.api import dispensing_record_csv
from haven.inventory.forms import CountForm, DispenseForm, LossClockForm, ReceiptForm
from haven.inventory.models import EntryKind, LedgerEntry, LossReport, Lot, StorageLocation
from haven.inventory.services import Witness


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _choices(site: Site) -> dict[str, Any]:
    lots = [
        (str(lot.public_id), f"{lot.substance.name} · lot {lot.lot_number} · {lot.finished_form}")
        for lot in Lot.objects.filter(substance__registration__site=site)
        .select_related("substance")
        .order_by("substance__name", "lot_number")
    ]
    locations = [
        (str(place.public_id), place.name)
        for place in StorageLocation.objects.filter(site=site, is_active=True).order_by("name")
    ]
    sessions = [
        (str(s.public_id), f"{s.course.patient.study_id} · {s.visit.name}")
        for s in DosingSession.objects.filter(course__site=site)
        .exclude(status=SessionStatus.DISCHARGED)
        .select_related("course__patient", "visit")
        .order_by("-created_at")
    ]
    witnesses = [
        (str(m.user.public_id), m.user.printed_name)
        for m in staff_list(site=site)
        if set(m.roles) & SIGNING_ROLES
    ]
    return {"lots": lots, "locations": locations, "sessions": sessions, "witnesses": witnesses}


def _forms(site: Site, data: Any = None) -> dict[str, forms.Form]:
    c = _choices(site)
    return {
        "receipt": ReceiptForm(data, lots=c["lots"], locations=c["locations"], prefix="receipt"),
        "dispense": DispenseForm(
            data, lots=c["lots"], locations=c["locations"], sessions=c["sessions"], prefix="dispense"
        ),
        "count": CountForm(
            data, lots=c["lots"], locations=c["locations"], witnesses=c["witnesses"], prefix="count"
        ),
    }


def _page(
    request: HttpRequest,
    user: User,
    site: Site,
    *,
    status: int = 200,
    bound: dict[str, forms.Form] | None = None,
) -> HttpResponse:
    page_forms = _forms(site) | (bound or {})
    lots = Lot.objects.filter(substance__registration__site=site).select_related("substance")
    return render(
        request,
        "inventory/page.html",
        {
            "site": site,
            "balances": selectors.balances(site),
            "discrepancies": selectors.open_discrepancies(site),
            "clocks": selectors.loss_clocks(site),
            "reconciliations": [selectors.reconciliation(lot) for lot in lots],
            "entries": list(
                LedgerEntry.objects.filter(site=site)
                .select_related("lot", "location", "recorded_by")
                .order_by("-occurred_at", "-pk")[:25]
            ),
            "forms": page_forms,
            "clock_form": LossClockForm(auto_id=False),
            "can_write": bool(roles_for(user, site) & services.WRITE_ROLES),
            "now": now(),
            "retention_years": selectors.RETENTION_YEARS,
        },
        status=status,
    )


@login_required
@require_safe
def inventory_page(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    return _page(request, user, selectors.access_inventory_site(user=user, site_id=site_id))


def _act(request: HttpRequest, site_id: str, name: str, call: Any, done: str) -> HttpResponse:
    user = _user(request)
    site = selectors.access_inventory_site(user=user, site_id=site_id)
    form = _forms(site, request.POST)[name]
    with timezone.override(site.time_zone):
        valid = form.is_valid()
    if not valid:
        return _page(request, user, site, status=422, bound={name: form})
    data = form.cleaned_data
    try:
        call(site, data)
    except DomainError as error:
        attach_error(form, error)
        return _page(request, user, site, status=error.status, bound={name: form})
    messages.success(request, done)
    return redirect("inventory:page", site_id=site.public_id)


def _lot_location(site: Site, data: dict[str, Any]) -> tuple[Lot, StorageLocation]:
    return selectors.access_lot(site=site, lot_id=data["lot"]), selectors.access_location(
        site=site, location_id=data["location"]
    )


@login_required
@require_POST
def receipt(request: HttpRequest, site_id: str) -> HttpResponse:
    def call(site: Site, data: dict[str, Any]) -> None:
        lot, location = _lot_location(site, data)
        services.receive(
            actor=actor_for(request),
            lot=lot,
            location=location,
            containers=data["containers"],
            loose_units=data["loose_units"] or 0,
            supplier_name=data["supplier_name"],
            supplier_address=data["supplier_address"],
            supplier_registration=data["supplier_registration"],
            order_form_number=data["order_form_number"],
            received_on=data["received_on"],
        )

    return _act(request, site_id, "receipt", call, "Receipt recorded.")


@login_required
@require_POST
def dispense(request: HttpRequest, site_id: str) -> HttpResponse:
    def call(site: Site, data: dict[str, Any]) -> None:
        lot, location = _lot_location(site, data)
        session = DosingSession.objects.filter(public_id=data["session"], course__site=site).first()
        if session is None:
            raise NotFound("Session not found.")
        services.dispense(
            actor=actor_for(request), lot=lot, location=location, quantity=data["quantity"], session=session
        )

    return _act(request, site_id, "dispense", call, "Dispensed to the session.")


@login_required
@require_POST
def count(request: HttpRequest, site_id: str) -> HttpResponse:
    def call(site: Site, data: dict[str, Any]) -> None:
        lot, location = _lot_location(site, data)
        witness = User.objects.filter(public_id=data["witness"], memberships__site=site).distinct().first()
        if witness is None:
            raise NotFound("No member of this site has that user id.")
        services.count(
            actor=actor_for(request),
            lot=lot,
            location=location,
            counted=data["counted"],
            witness=Witness(
                user=witness, password=data["witness_password"], otp_code=data["witness_otp_code"]
            ),
            inventory=data["inventory"],
            at_opening=data["at_opening"],
        )

    return _act(request, site_id, "count", call, "Count recorded.")


@login_required
@require_POST
def loss_clock(request: HttpRequest, site_id: str, report_id: str) -> HttpResponse:
    user = _user(request)
    site = selectors.access_inventory_site(user=user, site_id=site_id)
    report = LossReport.objects.filter(public_id=report_id, entry__site=site).first()
    if report is None:
        raise NotFound("Loss report not found.")
    form = LossClockForm(request.POST)
    with timezone.override(site.time_zone):
        valid = form.is_valid()
    if valid:
        try:
            services.loss_report_update(
                actor=actor_for(request),
                report=report,
                notice_sent_at=form.cleaned_data["notice_sent_at"],
                form106_filed_at=form.cleaned_data["form106_filed_at"],
                form106_number=form.cleaned_data["form106_number"],
            )
            messages.success(request, "Recorded.")
        except DomainError as error:
            messages.error(request, error.message)
    else:
        messages.error(request, "The dates could not be read.")
    return redirect("inventory:page", site_id=site.public_id)


@login_required
@require_safe
def dispensing_record(request: HttpRequest, site_id: str) -> HttpResponse:
    user = _user(request)
    site = selectors.access_inventory_site(user=user, site_id=site_id)
    if request.GET.get("format") == "csv":
        return dispensing_record_csv(request, site, actor=actor_for(request))
    registrations = list(site.registrations.all())
    return render(
        request,
        "inventory/record.html",
        {
            "site": site,
            "registrations": registrations,
            "entries": selectors.dispensing_record(site),
            "printed_at": now(),
            "retention_years": selectors.RETENTION_YEARS,
        },
    )


@login_required
@require_safe
def form41(request: HttpRequest, site_id: str, entry_id: str) -> HttpResponse:
    user = _user(request)
    site = selectors.access_inventory_site(user=user, site_id=site_id)
    entry = selectors.access_entry(site=site, entry_id=entry_id)
    if entry.kind != EntryKind.DESTRUCTION:
        raise NotFound("Not a destruction.")
    from haven.audit.signatures import signatures_for

    return render(
        request,
        "inventory/form41.html",
        {
            "site": site,
            "entry": entry,
            "registration": entry.lot.substance.registration,
            "quantity": -entry.delta,
            "signatures": signatures_for(entry),
        },
    )


@login_required
@require_POST
def session_dispense(request: HttpRequest, session_id: str) -> HttpResponse:
    """The dispense step inside the session room: units from the ledger to this session."""
    from haven.dosing.selectors import access_session

    user = _user(request)
    session = access_session(user=user, session_id=session_id)
    site = session.course.site
    c = _choices(site)
    form = DispenseForm(
        request.POST,
        lots=c["lots"],
        locations=c["locations"],
        sessions=[(str(session.public_id), "")],
        prefix="dispense",
    )
    if not form.is_valid():
        problems = "; ".join(
            f"{name}: {', '.join(str(e) for e in errors)}" for name, errors in form.errors.items()
        )
        messages.error(request, f"Not dispensed: {problems}")
    else:
        try:
            lot, location = _lot_location(site, form.cleaned_data)
            entry = services.dispense(
                actor=actor_for(request),
                lot=lot,
                location=location,
                quantity=form.cleaned_data["quantity"],
                session=session,
            )
            messages.success(
                request,
                f"Dispensed {services.show(-entry.delta)} {lot.unit}(s) of lot {lot.lot_number} to this session.",
            )
        except DomainError as error:
            messages.error(request, f"Not dispensed: {error.message}")
    return redirect("dosing:room", session_id=session.public_id)


def room_ledger(user: User, session: DosingSession) -> dict[str, Any]:
    """What the session room shows of the ledger: this session's entries, and the dispense form
    for those who write to the ledger."""
    site = session.course.site
    entries = list(
        LedgerEntry.objects.filter(session=session)
        .select_related("lot", "location", "recorded_by")
        .order_by("occurred_at", "pk")
    )
    can_dispense = bool(roles_for(user, site) & services.WRITE_ROLES)
    form = None
    if can_dispense:
        c = _choices(site)
        form = DispenseForm(
            lots=c["lots"],
            locations=c["locations"],
            sessions=[(str(session.public_id), "")],
            prefix="dispense",
            initial={"session": str(session.public_id)},
        )
    return {"ledger_entries": entries, "dispense_form": form}


@login_required
@require_safe
def inventory_report(request: HttpRequest, site_id: str) -> HttpResponse:
    """The inventory record (1304.11): every count with its kind, time of day and witness; when the
    next biennial inventory is due; and the loss and theft record with its DEA reporting."""
    user = _user(request)
    site = selectors.access_inventory_site(user=user, site_id=site_id)
    from haven.audit.signatures import signatures_for_many
    from haven.core.time import today_at

    counts = selectors.inventory_counts(site)
    return render(
        request,
        "inventory/report.html",
        {
            "site": site,
            "counts": counts,
            "witnesses": signatures_for_many(counts) if counts else {},
            "biennial_due": selectors.biennial_due(site, today_at(site.time_zone)),
            "losses": selectors.losses(site),
            "printed_at": now(),
        },
    )
