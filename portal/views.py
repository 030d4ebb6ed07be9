from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def admin_login(request, extra_context=None):
    """Stands in for the admin's own login form, so every sign-in passes allauth's rate limits."""
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    next_url = next_url or reverse("admin:index")
    if not request.user.is_authenticated:
        return redirect_to_login(next_url)
    if request.user.is_active and request.user.is_staff:
        return redirect(next_url)
    raise PermissionDenied


def healthz(request):
    """The process answers; touches nothing else."""
    return HttpResponse("ok", content_type="text/plain")
