"""Signals of the activities app.

`service_records_changed` is sent after a write that changes service records without saving them one by
one (the bulk verification of hours), with ``activity_ids``: the activities whose records changed, and ``using``.
The figures app listens to keep its rollup current; this app does not know who listens.
"""

from django.dispatch import Signal

service_records_changed = Signal()
