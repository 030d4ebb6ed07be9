"""Signals of the activities app.

`service_records_changed` is sent after a write that changes service records without saving them one by
one (the bulk verification of hours), with ``activity_ids``: the activities whose records changed, and ``using``.
The figures app listens to keep its rollup current; this app does not know who listens.

`activities_saved_in_bulk` is sent after activities (and their metric values) were inserted without save() —
the ledger import's bulk writes — with ``activity_ids`` and ``using``, for the same listeners.

The events someone else acts on are sent inside the service's transaction, so whatever a listener writes (the
reports app's notifications) commits or rolls back with the event itself. Each carries the ``actor``:

- `activity_submitted` (``activity``, ``corrected``): an activity waits for the village's confirmation (验单),
  submitted by its branch or, ``corrected=True``, sent back after a change to its confirmed figures;
- `activities_submitted_in_bulk` (``activity_ids``, ``batch_label``): many activities entered as submitted at
  once (a ledger import) and wait for 验单: one event for the lot, not one per activity (a 10,000-row ledger is
  one notice per village, not 10,000);
- `activity_returned` (``activity``): the village returned it to the branch;
- `hours_recorded` (``activity``): the activity counts and holds hours waiting for verification;
- `hours_recorded_in_bulk` (``activity_ids``, ``batch_label``): hours recorded at once on many activities (a
  ledger import): one event for the lot, so each branch's secretaries are told once, not once per activity;
- `need_claimed`, `need_fulfilled` (``need``): a branch claimed, or marked fulfilled, a village's need.
"""

from django.dispatch import Signal

service_records_changed = Signal()
activities_saved_in_bulk = Signal()

activity_submitted = Signal()
activities_submitted_in_bulk = Signal()
activity_returned = Signal()
hours_recorded = Signal()
hours_recorded_in_bulk = Signal()
need_claimed = Signal()
need_fulfilled = Signal()
