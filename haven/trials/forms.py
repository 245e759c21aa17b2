"""Forms of the study setup pages. They only parse input; ``study_create`` and ``kits_load`` decide
what a valid study or kit list is, and their errors are shown next to the fields they name."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.db.models import QuerySet

from haven.accounts.models import Role, Site, User

Choices = Sequence[tuple[str, str]]
ARM_ROWS = 4
KIT_FILE_LIMIT = 2 * 1024 * 1024  # bytes; a sponsor's list of thousands of kits is far smaller
KIT_HEADERS = {"kit", "kit number", "kit_number", "number"}


class ArmForm(forms.Form):
    """One row of the arms table; a row left blank is not an arm."""

    code = forms.CharField(label="Code", max_length=40)
    label = forms.CharField(label="Label", max_length=200, required=False)
    # No bounds here: the service names the rule (a whole number from 1 to 10).
    ratio = forms.IntegerField(
        label="Ratio", initial=1, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The table's header names the columns; each input still gets its own accessible name.
        suffix = str(self.prefix).rsplit("-", 1)[-1]
        row = int(suffix) + 1 if suffix.isdigit() else 1
        for name, field in self.fields.items():
            field.widget.attrs["aria-label"] = f"Arm {row} {name}"


ArmFormSet = forms.formset_factory(ArmForm, extra=ARM_ROWS, max_num=ARM_ROWS, absolute_max=ARM_ROWS)


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class StudyForm(forms.Form):
    protocol_code = forms.ChoiceField(label="Protocol")
    title = forms.CharField(label="Title", max_length=200)
    control = forms.TypedChoiceField(
        label="Control arm",
        coerce=int,
        choices=[(str(i), f"Arm {i + 1} is the control") for i in range(ARM_ROWS)],
        widget=forms.RadioSelect,
    )
    factors = forms.CharField(
        label="Stratification factors",
        initial="site",
        required=False,
        help_text="Separated by commas. Haven fills in site; others (e.g. dissociative) are given at randomization.",
    )
    block_multiples = forms.CharField(
        label="Block sizes (multiples of the ratio's sum)",
        initial="1, 2",
        help_text="Separated by commas: with a 1:1 ratio, 1, 2 gives blocks of 2 and 4.",
    )
    unblinded_roles = forms.MultipleChoiceField(
        label="Roles that may see a patient's arm (usually none)",
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    statisticians = forms.ModelMultipleChoiceField(
        label="Unblinded statisticians",
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only they see the concealed list, patients' arms, the report and the exports.",
    )

    def __init__(self, *args: Any, protocols: Choices, statisticians: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol_code"].choices = [("", "Choose…"), *protocols]  # type: ignore[attr-defined]
        self.fields["statisticians"].queryset = statisticians  # type: ignore[attr-defined]
        self.fields["statisticians"].label_from_instance = lambda user: user.printed_name  # type: ignore[attr-defined]

    def clean_factors(self) -> list[str]:
        return _comma_list(self.cleaned_data["factors"])

    def clean_block_multiples(self) -> list[int]:
        parts = _comma_list(self.cleaned_data["block_multiples"])
        try:
            return [int(part) for part in parts]
        except ValueError:
            raise forms.ValidationError("whole numbers separated by commas, e.g. 1, 2") from None


def study_arms(form: StudyForm, arms: forms.BaseFormSet[ArmForm]) -> list[dict[str, object]]:
    """The arms of the filled-in rows, the chosen row marked as the control (forms valid)."""
    control = form.cleaned_data["control"]
    rows = [(i, row.cleaned_data) for i, row in enumerate(arms.forms) if row.cleaned_data]
    if control not in {i for i, _ in rows}:
        form.add_error("control", "choose one of the arms you filled in")
    return [
        {"code": data["code"], "label": data["label"], "ratio": data["ratio"], "control": i == control}
        for i, data in rows
    ]


class KitListForm(forms.Form):
    """The sponsor's kit list as CSV: kit number, arm and, optionally, the site's code."""

    file = forms.FileField(
        label="Kit list (CSV)",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text="Columns: kit number, arm code, site code (optional). A header line is allowed; "
        "rows are counted from the first kit.",
    )
    site = forms.ChoiceField(label="Site, for rows that name none", required=False)

    def __init__(self, *args: Any, own_sites: Choices, sites: Mapping[str, Site], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sites = sites
        self.fields["site"].choices = [("", "Each row names its site"), *own_sites]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is None:
            return data
        if upload.size > KIT_FILE_LIMIT:
            self.add_error("file", "the file is larger than 2 MB")
            return data
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            self.add_error("file", "the file is not UTF-8 text (save it as CSV UTF-8)")
            return data
        lines = list(csv.reader(io.StringIO(text)))
        while lines and not any(cell.strip() for cell in lines[-1]):
            lines.pop()
        if lines and lines[0] and lines[0][0].strip().lower() in KIT_HEADERS:
            lines = lines[1:]
        if not lines:
            self.add_error("file", "the file holds no kits")
            return data
        default = self.sites_by_id().get(data.get("site") or "")
        rows: list[tuple[str, str, Site]] = []
        problems: list[str] = []
        first_row: dict[str, int] = {}
        for n, cells in enumerate(lines, start=1):
            cells = [cell.strip() for cell in cells]
            if len(cells) > 3:
                problems.append(f"row {n}: more than three columns (kit number, arm, site)")
                continue
            number, arm, code = [*cells, "", "", ""][:3]
            site = self.sites.get(code) if code else default
            if site is None:
                problems.append(
                    f"row {n}: no site {code}" if code else f"row {n}: no site (choose one above)"
                )
                continue
            if number and number in first_row:
                problems.append(f"row {n}: kit number {number} is also on row {first_row[number]}")
                continue
            first_row.setdefault(number, n)
            rows.append((number, arm, site))
        if problems:
            for problem in problems:
                self.add_error("file", problem)
            return data
        data["rows"] = rows
        return data

    def sites_by_id(self) -> dict[str, Site]:
        return {str(site.public_id): site for site in self.sites.values()}
