"""Errors that services raise and views turn into messages."""

from django.core.exceptions import ValidationError


class AlreadyDone(ValidationError):
    """The change asked for is already in place (a double click, a reload, a second tab): nothing was changed, and
    the page says so as information, not as an error."""
