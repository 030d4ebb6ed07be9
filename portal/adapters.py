from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit  # as allauth's adapter does: its consume() returns the usage to roll back
from allauth.core.internal.ratelimit import get_ip

APP = "allauth.account"


class AccountAdapter(DefaultAccountAdapter):
    """No public sign-up: accounts are created or invited by an admin. Failed sign-ins are limited per (account,
    client address) and, more slowly, per account (settings.ACCOUNT_RATE_LIMITS)."""

    def is_open_for_signup(self, request):
        return False

    def _account_key(self, request, **credentials):
        return super()._get_login_attempts_cache_key(request, **credentials)

    def _get_login_attempts_cache_key(self, request, **credentials):
        # allauth's "login_failed" key is the account alone: anyone could lock an account out from anywhere.
        return f"{self._account_key(request, **credentials)}:{get_ip(request)}"

    def pre_authenticate(self, request, **credentials):
        self._login_failed_account_usage = None
        super().pre_authenticate(request, **credentials)
        usage = ratelimit.consume(
            request, app=APP, action="login_failed_account", key=self._account_key(request, **credentials)
        )
        if not usage:
            super()._rollback_login_failed_rl_usage()
            raise self.validation_error("too_many_login_attempts")
        self._login_failed_account_usage = usage

    def _rollback_login_failed_rl_usage(self):
        super()._rollback_login_failed_rl_usage()
        usage = getattr(self, "_login_failed_account_usage", None)
        if usage:
            usage.rollback()

    def _delete_login_attempts_cached_email(self, request, **credentials):
        # a successful password reset clears the account's limits, from every address
        super()._delete_login_attempts_cached_email(request, **credentials)
        ratelimit.clear(request, app=APP, action="login_failed_account", key=self._account_key(request, **credentials))
