"""The notification pages: the notification centre (list, open, mark read), one's preferences, and the group
robots (企业微信, 钉钉) of the programs and pairings a program admin runs.

Thin views: the sending itself is in reports/channels.py and reports/digest.py. Group robots are the program
admins' (``Webhook.objects.editable_by``): anyone else is refused the list (403) and never finds a robot (404).
"""

from __future__ import annotations

import urllib.parse

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Q, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import ListView

from pairings.models import Pairing, Program
from reports import channels, services
from reports.forms import PreferenceForm, WebhookForm
from reports.models import Notification, Preference, Webhook
from reports.report_views import ProgramAdminRequiredMixin

# --------------------------------------------------------------------------------------------------------
# The notification centre
# --------------------------------------------------------------------------------------------------------


class NotificationListView(LoginRequiredMixin, ListView):
    """One's notifications, unread first; ``?show=unread`` for the unread ones only."""

    template_name = "reports/notification_list.html"
    paginate_by = 30

    def get_queryset(self):
        self.show = "unread" if self.request.GET.get("show") == "unread" else "all"
        queryset = Notification.objects.for_user(self.request.user)
        if self.show == "unread":
            queryset = queryset.unread()
        unread_first = Case(When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
        return queryset.order_by(unread_first, "-created_at", "-id")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["show"] = self.show
        return context


class NotificationOpenView(LoginRequiredMixin, View):
    """Marks one's own notification read and goes to where it is done (someone else's: 404)."""

    def get(self, request, pk):
        notification = get_object_or_404(Notification.objects.for_user(request.user), pk=pk)
        notification = services.notification_open(notification=notification, user=request.user)
        # Only a path in this portal: a stored link never sends anyone to another host.
        if notification.url and url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None):
            return redirect(notification.url)
        if notification.report_id:
            return redirect("reports:report_detail", pk=notification.report_id)
        return redirect("reports:notification_list")


def _back_to_list(request):
    url = reverse("reports:notification_list")
    return redirect(f"{url}?show=unread" if request.POST.get("show") == "unread" else url)


class NotificationReadView(LoginRequiredMixin, View):
    """POST: mark one of one's notifications read without opening it (GET: someone else's 404, one's own 405)."""

    http_method_names = ["get", "post"]

    def get(self, request, pk):
        get_object_or_404(Notification.objects.for_user(request.user), pk=pk)
        return self.http_method_not_allowed(request)

    def post(self, request, pk):
        notification = get_object_or_404(Notification.objects.for_user(request.user), pk=pk)
        services.notification_open(notification=notification, user=request.user)
        return _back_to_list(request)


class NotificationReadAllView(LoginRequiredMixin, View):
    """POST: mark all of one's notifications read."""

    http_method_names = ["post"]

    def post(self, request):
        count = Notification.objects.for_user(request.user).unread().update(read_at=timezone.now())
        if count:
            messages.success(request, _("%(count)s notifications marked as read.") % {"count": count})
        return _back_to_list(request)


# --------------------------------------------------------------------------------------------------------
# Preferences
# --------------------------------------------------------------------------------------------------------

GROUPS_SHOWN = 50


class PreferenceView(LoginRequiredMixin, View):
    """One's channels: the daily digest on or off (the portal's own list is always on), and the group robots
    that post the events of one's pairings."""

    template_name = "reports/preferences.html"

    def context(self, form):
        user = self.request.user
        pairings = Pairing.objects.visible_to(user)
        groups = (
            Webhook.objects.filter(is_active=True)
            .filter(Q(pairing__in=pairings) | Q(program__in=pairings.values("program_id")))
            .select_related("program", "pairing__supporter", "pairing__supported")
            .order_by("program_id", "pairing_id", "id")
        )
        groups = list(groups[: GROUPS_SHOWN + 1])
        return {"form": form, "groups": groups[:GROUPS_SHOWN], "more_groups": len(groups) > GROUPS_SHOWN}

    def preference(self):
        return Preference.objects.filter(user=self.request.user).first() or Preference(user=self.request.user)

    def get(self, request):
        return render(request, self.template_name, self.context(PreferenceForm(instance=self.preference())))

    def post(self, request):
        form = PreferenceForm(request.POST, instance=self.preference())
        if not form.is_valid():
            return render(request, self.template_name, self.context(form), status=400)
        services.preference_set(user=request.user, email_digest=form.cleaned_data["email_digest"])
        messages.success(request, _("Your choices are saved."))
        return redirect("reports:preferences")


# --------------------------------------------------------------------------------------------------------
# Group robots (企业微信, 钉钉)
# --------------------------------------------------------------------------------------------------------


def mask_secret(secret):
    if not secret:
        return ""
    return f"{secret[:3]}…{secret[-2:]}" if len(secret) > 8 else "…"


def mask_url(url):
    """The address without its credential (the key or token in the query): host and path, and a hint."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query)
    hidden = "&".join(f"{name}={value[:4]}…" for name, value in query)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{hidden}" if hidden else "")


class WebhookListView(ProgramAdminRequiredMixin, View):
    """The group robots of the programs (and their pairings) one administers; ``?program=`` or ``?pairing=``
    narrows the list to one of them."""

    template_name = "reports/webhook_list.html"

    def get(self, request):
        robots = Webhook.objects.editable_by(request.user).select_related(
            "program", "pairing__supporter", "pairing__supported", "pairing__program"
        )
        scope = None
        if request.GET.get("pairing", "").isdigit():
            scope = get_object_or_404(Pairing.objects.editable_by(request.user), pk=request.GET["pairing"])
            robots = robots.filter(pairing=scope)
        elif request.GET.get("program", "").isdigit():
            scope = get_object_or_404(Program.objects.editable_by(request.user), pk=request.GET["program"])
            robots = robots.filter(Q(program=scope) | Q(pairing__program=scope))
        page = Paginator(robots.order_by("-is_active", "program_id", "pairing_id", "id"), 30).get_page(request.GET.get("page"))
        for robot in page.object_list:
            robot.masked_url, robot.masked_secret = mask_url(robot.url), mask_secret(robot.secret)
        return render(request, self.template_name, {"page_obj": page, "robots": page.object_list, "scope": scope})


class WebhookFormMixin:
    template_name = "reports/webhook_form.html"

    def render_form(self, form, status=200):
        return render(self.request, self.template_name, {"form": form, "robot": getattr(self, "robot", None)}, status=status)


class WebhookCreateView(ProgramAdminRequiredMixin, WebhookFormMixin, View):
    def get(self, request):
        initial = {}
        for name in ("program", "pairing"):
            if request.GET.get(name, "").isdigit():
                initial[name] = int(request.GET[name])
        return self.render_form(WebhookForm(user=request.user, initial=initial))

    def post(self, request):
        form = WebhookForm(request.POST, user=request.user)
        if not form.is_valid():
            return self.render_form(form, status=400)
        robot = services.webhook_save(webhook=form.save(commit=False), actor=request.user)
        messages.success(request, _("The group robot %(name)s is saved. Send it a test message to check it.") % {"name": robot.name})
        return redirect("reports:webhook_update", pk=robot.pk)


class WebhookUpdateView(LoginRequiredMixin, WebhookFormMixin, View):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.robot = get_object_or_404(Webhook.objects.editable_by(request.user), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, pk):
        self.robot.masked_secret = mask_secret(self.robot.secret)
        return self.render_form(WebhookForm(instance=self.robot, user=request.user))

    def post(self, request, pk):
        form = WebhookForm(request.POST, instance=self.robot, user=request.user)
        if not form.is_valid():
            self.robot.masked_secret = mask_secret(form.old_secret)
            return self.render_form(form, status=400)
        robot = services.webhook_save(webhook=form.save(commit=False), actor=request.user)
        messages.success(request, _("The group robot %(name)s is saved.") % {"name": robot.name})
        return redirect("reports:webhook_update", pk=robot.pk)


class WebhookActionMixin(LoginRequiredMixin):
    """POST actions on one robot: only its program's admins find it (404 for anyone else; GET: 405 after that)."""

    http_method_names = ["get", "post"]

    def robot(self, request, pk):
        return get_object_or_404(Webhook.objects.editable_by(request.user), pk=pk)

    def get(self, request, pk):
        self.robot(request, pk)
        return self.http_method_not_allowed(request)


class WebhookDeactivateView(WebhookActionMixin, View):
    def post(self, request, pk):
        robot = self.robot(request, pk)
        services.webhook_set_active(webhook=robot, active=request.POST.get("active") == "1", actor=request.user)
        if robot.is_active:
            messages.success(request, _("The group robot %(name)s is active again.") % {"name": robot.name})
        else:
            messages.success(request, _("The group robot %(name)s is switched off: it receives nothing more.") % {"name": robot.name})
        return redirect("reports:webhook_update", pk=robot.pk)


class WebhookTestView(WebhookActionMixin, View):
    def post(self, request, pk):
        robot = self.robot(request, pk)
        problem = channels.webhook_test(webhook=robot, actor=request.user)
        if problem:
            messages.error(request, _("The test message was not accepted: %(reason)s") % {"reason": problem})
        else:
            messages.success(request, _("The test message was accepted: look for it in the group."))
        return redirect("reports:webhook_update", pk=robot.pk)
