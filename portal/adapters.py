from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """No public sign-up: accounts are created or invited by an admin."""

    def is_open_for_signup(self, request):
        return False
