from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from reports.home import home_for


@login_required
def home(request):
    """Each role's home page: what to do now (reports/home.py decides what that is)."""
    memberships = request.user.memberships.select_related("organization").order_by("organization__name", "role")
    return render(
        request,
        "reports/home.html",
        {"home": home_for(request.user, timezone.localdate()), "memberships": memberships},
    )
