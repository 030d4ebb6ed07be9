"""Small helpers shared by the apps' forms and views."""


def add_service_error(form, error):
    """Put a service's ValidationError on the form: each message under the field it is keyed by where the
    form has that field, else at the top of the form (as is a message keyed by no field at all)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)
