"""Signals of the volunteers app.

`service_records_changed` is sent after a write that changes service records without saving them one by
one (the bulk verification), with ``activity_ids``: the activities whose records changed, and ``using``.
The reports app listens to keep its figures current; this app does not know who listens.
"""

from django.dispatch import Signal

service_records_changed = Signal()
