"""Uploaded files (photos, signed agreements, exports) leave the portal only through views that have checked
who is asking. Those views end with `protected_file_response`, which either streams the file from Django or,
behind nginx, hands the sending to nginx with X-Accel-Redirect (MEDIA_ACCEL_REDIRECT, see deploy/nginx.conf)."""

import os
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header


def protected_file_response(file, *, content_type, filename=None, as_attachment=False):
    """Serve `file` (a FieldFile) to a request whose access has already been checked; 404 when it is missing.

    MEDIA_ACCEL_REDIRECT unset: a FileResponse that reads the file in blocks. Set (e.g. "/protected-media/"): an
    empty response whose `X-Accel-Redirect: <prefix><name in MEDIA_ROOT>` makes nginx send the file from its
    `internal` location (so a large download does not hold a gunicorn worker); Content-Type,
    Content-Disposition and the caller's Cache-Control pass through nginx unchanged.
    """
    if not file or not file.name:
        raise Http404
    prefix = settings.MEDIA_ACCEL_REDIRECT
    if prefix:
        if not file.storage.exists(file.name):
            raise Http404
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = prefix + quote(file.name)
        disposition = content_disposition_header(as_attachment, filename or os.path.basename(file.name))
        if disposition:
            response["Content-Disposition"] = disposition
        return response
    try:
        handle = file.storage.open(file.name, "rb")
    except (OSError, ValueError):
        raise Http404 from None
    return FileResponse(handle, content_type=content_type, filename=filename or "", as_attachment=as_attachment)
