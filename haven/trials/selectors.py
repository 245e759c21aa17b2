"""Reads of trials for other apps' pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from haven.accounts.models import Role, Site, SiteMembership, User
from haven.accounts.selectors import sites_for
from haven.core.errors import NotFound, PermissionDenied
from haven.patients.models import EnrollmentCourse
from haven.patients.selectors import TimelineEvent
from haven.protocols.selectors import protocol_version_list
from haven.trials.models import Kit, Randomization, Study, Unblinding


def has_study(course: EnrollmentCourse) -> bool:
    """Whether the course's protocol has a randomized study (the chart then links its page)."""
    return Study.objects.filter(protocol_code=course.protocol_code).exists()


def trial_events(course: EnrollmentCourse) -> list[TimelineEvent]:
    """Randomization and emergency unblindings for the patient's timeline — never the arm."""
    randomization = Randomization.objects.filter(course=course).select_related("study", "kit").first()
    if randomization is None:
        return []
    kit = f", kit {randomization.kit.number}" if randomization.kit else ""
    events = [
        TimelineEvent(randomization.created_at, "trial", f"Randomized in {randomization.study.title}{kit}")
    ]
    for unblinding in Unblinding.objects.filter(randomization=randomization).select_related("physician"):
        events.append(
            TimelineEvent(
                unblinding.created_at,
                "trial",
                f"Emergency unblinding by {unblinding.physician.printed_name} (signed): {unblinding.reason}",
            )
        )
    return events


# The study setup pages ---------------------------------------------------------------------------
# Who may use them follows the API: setting a study up needs the data manager / statistician role
# (POST /api/v1/studies); the study's own unblinded statisticians see their study. Everyone else
# is refused with one message, whether or not the study exists, as the API's study routes do.
STUDIES_REFUSED = "Studies are for data managers / statisticians and the study's unblinded statisticians."


@dataclass(frozen=True)
class StratumCount:
    stratum: str
    randomized: int


@dataclass(frozen=True)
class KitCount:
    label: str  # a site, or (statisticians only) a site and an arm
    total: int
    assigned: int


@dataclass(frozen=True)
class StudySetup:
    study: Study
    unblinded: bool  # the user is one of the study's unblinded statisticians
    statisticians: list[str]
    randomized: int
    strata: list[StratumCount]
    kits_by_site: list[KitCount]
    kits_by_arm: list[KitCount]  # empty unless ``unblinded``


def study_setup_allowed(user: User) -> bool:
    """May ``user`` set up a study? The data manager / statistician role at an active site."""
    return SiteMembership.objects.filter(user=user, role=Role.DATA_MANAGER, site__is_active=True).exists()


def _sees_every_study(user: User) -> bool:
    # A data manager sees every study's design and counts, unless they are also a blinded rater
    # somewhere: a blinded rater never reaches a study's supply.
    return (
        study_setup_allowed(user)
        and not SiteMembership.objects.filter(user=user, role=Role.BLINDED_RATER).exists()
    )


def studies_visible(user: User) -> bool:
    """Whether the studies pages are for ``user`` at all (the navigation link)."""
    if not user.is_authenticated:
        return False
    return study_setup_allowed(user) or Study.objects.filter(unblinded_statisticians=user).exists()


@dataclass(frozen=True)
class StudyRow:
    study: Study
    randomized: int  # at every site for the study's statisticians, else at the user's own sites
    unblinded: bool  # the user is one of the study's unblinded statisticians


def study_list(*, user: User) -> list[StudyRow]:
    """The studies ``user`` may see, with how many patients are randomized; refused for everyone
    else. The counts follow the summary page: every site for a study's statisticians, otherwise
    the user's own sites."""
    if not studies_visible(user):
        raise PermissionDenied(STUDIES_REFUSED)
    studies = (
        Study.objects.all() if _sees_every_study(user) else Study.objects.filter(unblinded_statisticians=user)
    )
    named = Study.unblinded_statisticians.through.objects.filter(study_id=OuterRef("pk"), user_id=user.pk)
    studies = studies.annotate(
        n_all=Count("randomizations", distinct=True),
        n_own=Count(
            "randomizations",
            filter=Q(randomizations__course__site__in=sites_for(user)),
            distinct=True,
        ),
        unblinded=Exists(named),
    ).order_by("protocol_code")
    return [
        StudyRow(study, study.n_all if study.unblinded else study.n_own, study.unblinded) for study in studies
    ]


def access_study(*, user: User, protocol_code: str) -> Study:
    """The study, for its unblinded statisticians and for data managers; everyone else is refused
    with the same message whether or not it exists."""
    study = Study.objects.filter(protocol_code=protocol_code).first()
    if study is not None and study.unblinded_statisticians.filter(pk=user.pk).exists():
        return study
    if not _sees_every_study(user):
        raise PermissionDenied(STUDIES_REFUSED)
    if study is None:
        raise NotFound("No study with this protocol code.")
    return study


def study_setup(*, user: User, study: Study) -> StudySetup:
    """The study's setup summary for ``user`` (loaded through ``access_study``): counts only, never
    which patient got which arm. Kits per arm only for the study's unblinded statisticians; a data
    manager who is not one sees the strata and kits of their own sites."""
    unblinded = study.unblinded_statisticians.filter(pk=user.pk).exists()
    randomizations = Randomization.objects.filter(study=study)
    kits = Kit.objects.filter(study=study)
    if not unblinded:
        own = sites_for(user)
        randomizations = randomizations.filter(course__site__in=own)
        kits = kits.filter(site__in=own)
    strata = [
        StratumCount(row["slot__stratum"], row["n"])
        for row in randomizations.values("slot__stratum").annotate(n=Count("id")).order_by("slot__stratum")
    ]
    assigned = Count("randomization")
    by_site = [
        KitCount(f"{row['site__name']} ({row['site__code']})", row["total"], row["assigned"])
        for row in kits.values("site__name", "site__code")
        .annotate(total=Count("id"), assigned=assigned)
        .order_by("site__name")
    ]
    by_arm = []
    if unblinded:
        by_arm = [
            KitCount(f"{row['site__code']} · {row['arm']}", row["total"], row["assigned"])
            for row in kits.values("site__code", "arm")
            .annotate(total=Count("id"), assigned=assigned)
            .order_by("site__code", "arm")
        ]
    return StudySetup(
        study=study,
        unblinded=unblinded,
        statisticians=sorted(u.printed_name for u in study.unblinded_statisticians.all()),
        randomized=sum(s.randomized for s in strata),
        strata=strata,
        kits_by_site=by_site,
        kits_by_arm=by_arm,
    )


def protocol_choices() -> list[tuple[str, str]]:
    """The protocol codes loaded in Haven, each with its latest version's title."""
    titles: dict[str, str] = {}
    for version in protocol_version_list():
        titles[version.code] = version.title  # ordered by creation: the latest wins
    return [(code, f"{code} · {title}") for code, title in sorted(titles.items())]


def statistician_candidates(*, user: User) -> QuerySet[User]:
    """Who may be named a study's statistician by ``user``: the data managers / statisticians of
    ``user``'s own sites (the API requires the role; a page lists only people of one's sites)."""
    return (
        User.objects.filter(
            is_active=True, memberships__role=Role.DATA_MANAGER, memberships__site__in=sites_for(user)
        )
        .distinct()
        .order_by("printed_name")
    )


def sites_by_code() -> dict[str, Site]:
    """Active sites by code, to read the site column of a sponsor's kit list."""
    return {site.code: site for site in Site.objects.filter(is_active=True)}
