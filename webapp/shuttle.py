"""The driver's run sheet as a page: printable (a print stylesheet: one car per page,
boxes to tick by pen) and usable on the phone (buttons that mark a stop picked up or
not home). Same selector and service as the API."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backend.errors import ApplicationError
from backend.shuttle.models import Outcome, RunSignup
from backend.shuttle.selectors import occurrences_visible_to, run_sheet
from backend.shuttle.services import signup_mark


@require_http_methods(["GET", "POST"])
def run_sheet_page(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(
            request,
            "webapp/shuttle/message.html",
            {"message": _("Log in to Samby to see the run sheet.")},
            status=401,
        )
    occurrence = get_object_or_404(
        occurrences_visible_to(user=request.user).select_related("schedule"), pk=pk
    )
    sheet = run_sheet(viewer=request.user, occurrence=occurrence)
    if sheet is None:
        raise Http404
    error = ""
    if request.method == "POST":
        signup = (
            RunSignup.objects.select_related(
                "occurrence__association", "vehicle__driver__membership"
            )
            .filter(pk=request.POST.get("signup", "0"), occurrence=occurrence)
            .first()
        )
        outcome = request.POST.get("outcome", "")
        if signup is None:
            error = _("There is no such stop on this run.")
        else:
            try:
                signup_mark(actor=request.user, signup=signup, outcome=outcome)
                return redirect(request.path + f"#stop-{signup.pk}")
            except ApplicationError as failure:
                error = str(failure.message)
    return render(
        request,
        "webapp/shuttle/run_sheet.html",
        {"sheet": sheet, "run": occurrence, "error": error, "outcomes": Outcome},
        status=400 if error else 200,
    )
