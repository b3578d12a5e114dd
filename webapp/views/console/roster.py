"""The roster: members and drivers, approvals (membership and rides), suspensions with a
reason, the driver role, the coordinator role (asking first), giving all of a driver's
rides back to dispatch, drivers' week
of availability, cars and needs they take, and their load this month, so the work stays
fairly spread."""

import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.audit.services import audit_record, audit_record_many
from backend.community.models import Membership, MembershipState, Role
from backend.community.services import (
    CommunityErrorCode,
    membership_approve,
    membership_decline,
    membership_role_change,
    membership_suspend,
)
from backend.db import fetch_dicts
from backend.errors import ApplicationError
from backend.rides.drivers import rider_approve
from backend.rides.models import (
    DRIVER_HOLDS,
    RELEASABLE,
    AvailabilitySlot,
    DriverProfile,
    RideState,
)
from backend.rides.selectors import driver_rides_held
from dispatch.services import driver_rides_release_all
from webapp.forms.console import (
    CoordinatorRoleForm,
    DeclineForm,
    DriverRoleForm,
    ReleaseRidesForm,
    RiderApprovalForm,
    SuspendForm,
)
from webapp.forms.driver import WEEKDAYS
from webapp.views.common import show_error
from webapp.views.console.board import STATUS, _today_start
from webapp.views.console.common import (
    console_page,
    coordinator_required,
    html_row,
    row_url,
)

NEED_FLAGS = ["wheelchair_accessible", "walker_space", "child_seat", "takes_guide_dog"]


def _month_load(association) -> dict[int, dict]:
    """Per driver: rides held or driven this month and the hours they take (one query,
    in SQL like the members')."""
    start = _today_start().replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    rows = fetch_dicts(
        "SELECT driver_id, count(*) AS rides, sum(duration_s) AS seconds"
        "  FROM rides_riderequest"
        " WHERE association_id = %(association)s AND state = ANY(%(states)s)"
        "   AND planned_pickup >= %(start)s AND planned_pickup < %(end)s"
        " GROUP BY driver_id",
        {
            "association": association.pk,
            "states": [str(state) for state in [*DRIVER_HOLDS, RideState.COMPLETED]],
            "start": start,
            "end": end,
        },
    )
    return {
        row["driver_id"]: {"rides": row["rides"], "hours": round((row["seconds"] or 0) / 3600, 1)}
        for row in rows
    }


def _week_grid(slots: list[tuple[int, dt.time, dt.time]]) -> list[str]:
    """One cell per weekday: the hours the driver is usually free (slots by start)."""
    cells = [[] for _day in range(7)]
    for weekday, start, end in slots:
        cells[weekday].append(f"{start:%H:%M}\u2013{end:%H:%M}")
    return [", ".join(cell) for cell in cells]


# What the roster shows of a membership, its person and its driver profile, as plain
# values: a page of all members is read again on every live event, and model instances
# (with drivers' home bases and positions) cost more than the page's HTML. In SQL:
# building the ORM query cost more than running it (backend/db.py).
_MEMBER_ROWS = """
    SELECT m.id, m.user_id, m.roles, m.state, m.state_reason,
           u.full_name, u.phone, u.is_managed, ra.id AS rider_approval_id,
           d.id AS profile_id, d.active, d.seats, d.vehicle_description,
           d.wheelchair_accessible, d.walker_space, d.child_seat, d.takes_guide_dog, -- NEED_FLAGS
           held.rides AS rides_releasable
      FROM community_membership AS m
      JOIN accounts_user AS u ON u.id = m.user_id
      LEFT JOIN rides_riderapproval AS ra ON ra.membership_id = m.id
      LEFT JOIN rides_driverprofile AS d ON d.membership_id = m.id
      -- per driver profile, the rides driver_rides_release_all would give back
      LEFT JOIN (SELECT r.driver_id, count(*) AS rides
                   FROM rides_riderequest AS r
                  WHERE r.association_id = %(association)s AND r.state = ANY(%(releasable)s)
                  GROUP BY r.driver_id) AS held ON held.driver_id = d.id
     WHERE m.association_id = %(association)s
     ORDER BY u.full_name
"""


def _members(association, *, viewer_id: int) -> list[dict]:
    """The association's members by name, each with what its row shows worked out once
    here (labels, the forms' links) instead of by template tags per row."""
    rows = fetch_dicts(
        _MEMBER_ROWS,
        {"association": association.pk, "releasable": [str(state) for state in RELEASABLE]},
    )
    states = {value: str(label) for value, label in MembershipState.choices}
    roles = {value: str(label) for value, label in Role.choices}
    approve = row_url("webapp:console-membership", "approve")
    decline = row_url("webapp:console-membership", "decline")
    suspend = row_url("webapp:console-membership", "suspend")
    rider = row_url("webapp:console-membership", "rider")
    driver = row_url("webapp:console-membership", "driver")
    release = row_url("webapp:console-release-rides", query=f"?association={association.pk}")
    coordinator = row_url("webapp:console-coordinator-role", query=f"?association={association.pk}")
    for row in rows:
        pk = row["id"]
        # A string: a number would go through the template's localisation on each use.
        row["pk"] = str(pk)
        row["state_label"] = states[row["state"]]
        row["roles_label"] = ", ".join(roles.get(role, role) for role in row["roles"])
        row["is_viewer"] = row["user_id"] == viewer_id
        row["approve_url"], row["suspend_url"], row["rider_url"] = (
            approve(pk),
            suspend(pk),
            rider(pk),
        )
        if row["state"] == MembershipState.PENDING:
            row["decline_url"] = decline(pk)
        elif row["state"] == MembershipState.ACTIVE:
            row["driver_url"] = driver(pk)
        if row["rides_releasable"]:
            row["release_url"] = release(pk)
        # To the page asking first: given to an active member who signs in, taken from
        # another coordinator (the service refuses the rest, one's own role included).
        is_coordinator = Role.COORDINATOR in row["roles"]
        if (is_coordinator and not row["is_viewer"]) or (
            not is_coordinator and row["state"] == MembershipState.ACTIVE and not row["is_managed"]
        ):
            row["coordinator_url"] = coordinator(pk)
    return rows


# A row of the members' table and its forms (the template's loop prints them; see
# `html_row`).
MEMBER_ROW = (
    '\n      <tr data-membership="{pk}">'
    "\n        <td>{full_name}{managed}</td>"
    "\n        <td>{phone}</td>"
    "\n        <td>{roles}</td>"
    "\n        <td>{state}</td>"
    "\n        <td>{rider}</td>"
    "\n        <td>{action}</td>"
    "\n      </tr>\n    "
)
MANAGED = " <small>({no_login})</small>"
STATE_REASON = "{state}: {reason}"
RIDER_FORM = (
    '\n          <form method="post" action="{url}">{csrf}'
    '<input type="hidden" name="association" value="{association}">'
    '<label for="notes-{pk}">{label}</label> <input id="notes-{pk}" name="notes" maxlength="1000">'
    ' <button type="submit">{button}</button></form>'
)
SUSPEND_FORM = (
    '\n          <form method="post" action="{url}">{csrf}'
    '<input type="hidden" name="association" value="{association}">'
    '<label for="reason-{pk}">{label}</label>'
    ' <input id="reason-{pk}" name="reason" maxlength="300" required>'
    ' <button type="submit" class="secondary">{button}</button></form>\n          '
)
# Give or take away the driver role (active members only; `membership_action`).
DRIVER_FORM = (
    '\n          <form method="post" action="{url}">{csrf}'
    '<input type="hidden" name="association" value="{association}">'
    '<input type="hidden" name="driver" value="{value}">'
    '<button type="submit" class="secondary">{button}</button></form>'
)
# To the page that asks before giving all the rides a driver holds back to dispatch, and
# to the one that asks before giving or taking the coordinator role.
RELEASE_LINK = '\n          <a class="button secondary" href="{url}">{label}</a>'
COORDINATOR_LINK = RELEASE_LINK
ACTIVATE_FORM = (
    '<form method="post" action="{url}">{csrf}'
    '<input type="hidden" name="association" value="{association}">'
    '<button type="submit">{button}</button></form>'
)


def _member_rows(members: list[dict], *, csrf: str, association: str) -> None:
    """Each member's row: name, phone, roles, state, and the forms to approve them for
    rides, to make an active member a volunteer driver or no longer one, links to make
    them a coordinator or no longer one, and to suspend them (or make them active
    again)."""
    # The same on every row: escaped once here (html_row leaves safe text as it is).
    association = html_row("{x}", x=association)
    managed = html_row(MANAGED, no_login=_("no login"))
    (
        approved,
        notes,
        approve_rides,
        reason,
        suspend,
        make_active,
        make_driver,
        no_driver,
        make_coordinator,
        take_coordinator,
    ) = (
        html_row("{x}", x=text)
        for text in (
            _("approved"),
            _("Eligibility notes (optional)"),
            _("Approve for rides"),
            _("Reason (the member sees it)"),
            _("Suspend"),
            _("Make active again"),
            _("Make volunteer driver"),
            _("No longer a driver"),
            _("Make coordinator"),
            _("Take coordinator role"),
        )
    )
    release_labels: dict[int, str] = {}
    for m in members:
        pk, suspended = m["pk"], m["state"] == MembershipState.SUSPENDED
        if m["rider_approval_id"]:
            rider = approved
        else:
            rider = html_row(
                RIDER_FORM,
                url=m["rider_url"],
                csrf=csrf,
                association=association,
                pk=pk,
                label=notes,
                button=approve_rides,
            )
        if "driver_url" in m:
            is_driver = Role.DRIVER in m["roles"]
            driver_form = html_row(
                DRIVER_FORM,
                url=m["driver_url"],
                csrf=csrf,
                association=association,
                value=DriverRoleForm.TAKE if is_driver else DriverRoleForm.GIVE,
                button=no_driver if is_driver else make_driver,
            )
        else:
            driver_form = ""
        if "release_url" in m:
            count = m["rides_releasable"]
            if count not in release_labels:
                release_labels[count] = ngettext(
                    "Give %(count)s ride back", "Give %(count)s rides back", count
                ) % {"count": localize(count)}
            driver_form = SafeString(
                html_row(RELEASE_LINK, url=m["release_url"], label=release_labels[count])
                + driver_form
            )
        if "coordinator_url" in m:
            driver_form = SafeString(
                driver_form
                + html_row(
                    COORDINATOR_LINK,
                    url=m["coordinator_url"],
                    label=take_coordinator if Role.COORDINATOR in m["roles"] else make_coordinator,
                )
            )
        if not suspended and not m["is_viewer"]:
            action = html_row(
                SUSPEND_FORM,
                url=m["suspend_url"],
                csrf=csrf,
                association=association,
                pk=pk,
                label=reason,
                button=suspend,
            )
        elif suspended:
            action = html_row(
                ACTIVATE_FORM,
                url=m["approve_url"],
                csrf=csrf,
                association=association,
                button=make_active,
            )
        else:
            action = ""
        if driver_form:
            action = SafeString(driver_form + action)
        m["row"] = html_row(
            MEMBER_ROW,
            pk=pk,
            full_name=m["full_name"],
            managed=managed if m["is_managed"] else "",
            phone=m["phone"] or "\u2013",
            roles=m["roles_label"],
            state=html_row(STATE_REASON, state=m["state_label"], reason=m["state_reason"])
            if m["state_reason"]
            else m["state_label"],
            rider=rider,
            action=action,
        )


DASH = "\u2013"  # what an empty cell shows

# A row of the drivers' table (see `html_row`).
DRIVER_ROW = (
    '\n      <tr><th scope="row">{name}{inactive}</th>'
    "\n        {cells}"
    "\n        <td>{car}, {seats}{takes}</td>"
    "\n        <td>{rides}</td><td>{hours}</td></tr>\n    "
)


def _driver_row_writer() -> Callable[[dict, list[str], list[str], dict], SafeString]:
    """Writes the drivers' rows of one page (in the active language). Drivers share their
    hours of the week, seats and loads: each distinct week, count and number is written
    once per page rather than once per driver."""
    inactive = html_row(" ({x})", x=_("inactive"))
    weeks: dict[tuple[str, ...], SafeString] = {}
    numbers: dict[tuple[type, float], str] = {}
    seats_labels: dict[int, str] = {}

    def week(grid: list[str]) -> SafeString:
        key = tuple(grid)
        cells = weeks.get(key)
        if cells is None:
            cells = weeks[key] = SafeString(
                "".join([html_row("<td>{x}</td>", x=cell or DASH) for cell in grid])
            )
        return cells

    def number(value: float) -> str:
        key = (type(value), value)  # 0 and 0.0 are written differently
        text = numbers.get(key)
        if text is None:
            text = numbers[key] = localize(value)
        return text

    def seats_label(seats: int) -> str:
        label = seats_labels.get(seats)
        if label is None:
            label = seats_labels[seats] = ngettext("%(seats)s seat", "%(seats)s seats", seats) % {
                "seats": number(seats)
            }
        return label

    def row(member: dict, grid: list[str], takes: list[str], load: dict) -> SafeString:
        return html_row(
            DRIVER_ROW,
            name=member["full_name"],
            inactive="" if member["active"] else inactive,
            cells=week(grid),
            car=member["vehicle_description"] or "\u2013",
            seats=seats_label(member["seats"]),
            takes=html_row("; {x}", x=", ".join(takes)) if takes else "",
            rides=number(load["rides"]),
            hours=number(load["hours"]),
        )

    return row


def _drivers(members: list[dict], load: dict[int, dict]) -> list[dict]:
    """The members with a driver profile: their week of availability (one query for all),
    what their car takes and their load this month."""
    profiles = [m for m in members if m["profile_id"] is not None]
    slots: dict[int, list] = {m["profile_id"]: [] for m in profiles}
    for driver_id, *slot in (
        AvailabilitySlot.objects.filter(driver_id__in=slots)
        .order_by("weekday", "start")
        .values_list("driver_id", "weekday", "start", "end")
    ):
        slots[driver_id].append(slot)
    labels = {flag: str(DriverProfile._meta.get_field(flag).verbose_name) for flag in NEED_FLAGS}
    drivers = []
    driver_row = _driver_row_writer()
    for member in profiles:
        grid = _week_grid(slots[member["profile_id"]])
        takes = [labels[flag] for flag in NEED_FLAGS if member[flag]]
        load_of = load.get(member["profile_id"], {"rides": 0, "hours": 0})
        drivers.append(
            {
                "membership": member,
                "grid": grid,
                "takes": takes,
                "load": load_of,
                "row": driver_row(member, grid, takes, load_of),
            }
        )
    return drivers


@coordinator_required
@require_GET
def roster(request):
    return _roster_page(request)


def _roster_page(request, status: int = 200):
    association = request.association
    memberships = _members(association, viewer_id=request.user.pk)
    audit_record_many(
        actor=request.user,
        action="roster.view",
        subject_ids=[m["user_id"] for m in memberships],
        detail={"association": association.pk, "page": "console"},
    )
    drivers = _drivers(memberships, _month_load(association))
    _member_rows(memberships, csrf=csrf_input(request), association=str(association.pk))
    return console_page(
        request,
        "webapp/console/roster.html",
        {
            "pending": [m for m in memberships if m["state"] == MembershipState.PENDING],
            "memberships": memberships,
            "drivers": drivers,
            # One string for all rows: a template loop costs a few dozen calls per row.
            "member_rows": SafeString("".join(m["row"] for m in memberships)),
            "driver_rows": SafeString("".join(d["row"] for d in drivers)),
            "weekdays": WEEKDAYS,
            "suspend_form": SuspendForm(),
            "decline_form": DeclineForm(),
            "rider_form": RiderApprovalForm(),
            "counts": {
                "members": sum(1 for m in memberships if m["state"] == MembershipState.ACTIVE),
                "drivers": len(drivers),
            },
        },
        status=status,
    )


ACTIONS = {"approve", "decline", "suspend", "rider", "driver"}


def _membership_of(request, pk: int) -> Membership:
    """A membership of the console's association; 404 for any other."""
    return get_object_or_404(
        Membership.objects.select_related("user", "association").filter(
            Q(association=request.association)
        ),
        pk=pk,
    )


def _show_refusal(request, error: ApplicationError, membership: Membership) -> None:
    """The service's refusal at the top of the roster; one for rides the member still
    holds links to giving them all back to dispatch at once."""
    if error.code != CommunityErrorCode.DRIVER_HOLDS_RIDES:
        show_error(request, error)
        return
    url = reverse("webapp:console-release-rides", args=[membership.pk])
    messages.error(
        request,
        format_html(
            '{} <a href="{}?association={}">{}</a>',
            error.message,
            url,
            membership.association_id,
            _("Give %(name)s's rides back to dispatch") % {"name": membership.user.full_name},
        ),
    )


@coordinator_required
@require_POST
def membership_action(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404
    association = request.association
    membership = _membership_of(request, pk)
    back = f"{reverse('webapp:console-roster')}?association={association.pk}"
    name = membership.user.full_name
    try:
        if action == "approve":
            membership_approve(actor=request.user, membership=membership)
            messages.success(request, _("%(name)s is now an active member.") % {"name": name})
        elif action == "suspend":
            form = SuspendForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Write why the membership is suspended."))
                return _roster_page(request, 400)
            membership_suspend(
                actor=request.user, membership=membership, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("%(name)s is suspended.") % {"name": name})
        elif action == "decline":
            form = DeclineForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("The reason is too long: at most 300 characters."))
                return _roster_page(request, 400)
            membership_decline(
                actor=request.user, membership=membership, reason=form.cleaned_data["reason"]
            )
            audit_record(
                actor=request.user,
                action="membership.decline",
                subject=membership.user,
                detail={"membership": membership.pk, "association": association.pk},
            )
            messages.success(
                request,
                _("You said no to %(name)s. They are told, and may ask again later.")
                % {"name": name},
            )
        elif action == "driver":
            return _driver_role(request, membership)
        else:
            form = RiderApprovalForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("The notes are too long."))
                return _roster_page(request, 400)
            rider_approve(
                actor=request.user, membership=membership, notes=form.cleaned_data["notes"]
            )
            messages.success(request, _("%(name)s may now book volunteer rides.") % {"name": name})
    except ApplicationError as error:
        _show_refusal(request, error, membership)
    return redirect(back)


def _driver_role(request, membership: Membership):
    """Give the member the volunteer-driver role, or take it away; their other roles stay
    as they are (the coordinator role has a page of its own, `coordinator_role`). The
    service refuses taking it from someone who still holds rides, and tells a new driver
    how to start."""
    form = DriverRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to give or take away the driver role."))
        return _roster_page(request, 400)
    give = form.cleaned_data["driver"] == DriverRoleForm.GIVE
    name = membership.user.full_name
    done = (
        _("%(name)s is now a volunteer driver.") % {"name": name}
        if give
        else _("%(name)s is no longer a driver.") % {"name": name}
    )
    return _role_change(request, membership, role=Role.DRIVER, give=give, done=done)


def _role_change(request, membership: Membership, *, role: Role, give: bool, done: str):
    """Give or take one role (`membership_role_change`), record it in the audit log and
    go back to the roster, saying `done` or the service's refusal."""
    association = request.association
    try:
        membership = membership_role_change(
            actor=request.user, membership=membership, role=role, give=give
        )
    except ApplicationError as error:
        _show_refusal(request, error, membership)
    else:
        audit_record(
            actor=request.user,
            action="membership.roles",
            subject=membership.user,
            detail={
                "membership": membership.pk,
                "association": association.pk,
                "roles": membership.roles,
            },
        )
        messages.success(request, done)
    return redirect(f"{reverse('webapp:console-roster')}?association={association.pk}")


@coordinator_required
@require_http_methods(["GET", "POST"])
def coordinator_role(request, pk: int):
    """Give the member the coordinator role, or take it from another coordinator, keeping
    their other roles (`membership_role_change`). The GET asks first, saying what the role
    lets them see and do, so a mis-tap on the roster changes nothing; its form's POST,
    with a hidden field saying which it asked, gives or takes it. The service refuses
    one's own role, a member not active and a managed profile; the refusal is shown at
    the top of the roster."""
    membership = _membership_of(request, pk)
    if request.method == "GET":
        give = Role.COORDINATOR not in membership.roles
        return console_page(
            request,
            "webapp/console/coordinator_role.html",
            {
                "membership": membership,
                "give": give,
                "value": CoordinatorRoleForm.GIVE if give else CoordinatorRoleForm.TAKE,
            },
        )
    form = CoordinatorRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to give or take away the coordinator role."))
        return _roster_page(request, 400)
    give = form.cleaned_data["coordinator"] == CoordinatorRoleForm.GIVE
    name = membership.user.full_name
    done = (
        _("%(name)s is now a coordinator.") % {"name": name}
        if give
        else _("%(name)s is no longer a coordinator.") % {"name": name}
    )
    return _role_change(request, membership, role=Role.COORDINATOR, give=give, done=done)


@coordinator_required
@require_http_methods(["GET", "POST"])
def release_rides(request, pk: int):
    """Give all the rides a driver holds back to dispatch (`driver_rides_release_all`):
    the GET asks first, naming the rides, so a mis-tap on the roster gives back nothing;
    its form's POST, with the reason the driver is told, gives them back. Bad input
    shows the page again with what to do, and changes nothing."""
    membership = _membership_of(request, pk)
    if request.method == "GET":
        return _release_page(request, membership, ReleaseRidesForm())
    form = ReleaseRidesForm(request.POST)
    if not form.is_valid():
        return _release_page(request, membership, form, status=400)
    try:
        released = driver_rides_release_all(
            membership=membership, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as error:
        show_error(request, error, form)
        return _release_page(request, membership, form, status=STATUS[error.kind])
    names = {"name": membership.user.full_name, "count": len(released)}
    if released:
        messages.success(
            request,
            ngettext(
                "%(name)s's ride goes back to dispatch: other drivers are asked, and the "
                "rider and %(name)s are told.",
                "%(name)s's %(count)s rides go back to dispatch: other drivers are asked, "
                "and the riders and %(name)s are told.",
                len(released),
            )
            % names,
        )
    else:
        messages.info(request, _("%(name)s holds no rides to give back.") % names)
    return redirect(f"{reverse('webapp:console-roster')}?association={request.association.pk}")


def _release_page(request, membership: Membership, form: ReleaseRidesForm, *, status: int = 200):
    held = list(driver_rides_held(membership=membership))
    return console_page(
        request,
        "webapp/console/release_rides.html",
        {
            "membership": membership,
            "rides": [ride for ride in held if ride.state in RELEASABLE],
            "on_board": [ride for ride in held if ride.state not in RELEASABLE],
            "form": form,
        },
        status=status,
    )
