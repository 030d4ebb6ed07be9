from django import template

from portal.permissions import shown_phone

register = template.Library()


@register.simple_tag(takes_context=True)
def phone_of(context, person):
    """{% phone_of volunteer %}: the person's phone, masked unless the viewer manages their organisation."""
    return shown_phone(context["request"].user, person.phone, person.organization_id)
