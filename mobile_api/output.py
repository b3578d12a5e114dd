"""Output serializers that build their fields once per class instead of once per request.

DRF builds a serializer's fields anew for every serializer instance (a ModelSerializer
introspects the model each time) and then walks them through several generic layers per
row. For the lists the apps poll that was most of the CPU of a request. `FastOutput`
builds the fields once, on a template instance, and keeps for each readable field how to
get its value and how to show it. The JSON is the same as DRF's generic
`Serializer.to_representation` gives (tests/mobile_api/test_fast_output.py compares them).

Only for output serializers whose fields do not depend on the serializer's context or
arguments: a SerializerMethodField runs on the template, which has no context.
"""

import re
from collections.abc import Callable
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject, PrimaryKeyRelatedField
from rest_framework.settings import api_settings

_Plan = list[tuple[str, Callable[[Any], Any], Callable[[Any], Any]]]


def _identity(value: Any) -> Any:
    return value


def _model_attribute(serializer: serializers.Serializer, field: serializers.Field) -> str | None:
    """The attribute to read straight off the instance, when DRF's generic lookup would
    do nothing more than that: one model field (or its `_id` column), no default."""
    meta = getattr(serializer, "Meta", None)
    model = getattr(meta, "model", None)
    if model is None or len(field.source_attrs) != 1 or field.default is not serializers.empty:
        return None
    name = field.source_attrs[0]
    try:
        model_field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if model_field.is_relation and not model_field.concrete:
        return None  # a reverse relation: its accessor raises when there is none
    if isinstance(field, PrimaryKeyRelatedField):
        return model_field.attname if field.pk_field is None else None
    return name


def _choice_label(serializer: serializers.Serializer, field: serializers.Field):
    """For `source="get_<field>_display"`: the label looked up in a dict made once.
    Django's own method rebuilds (and hashes) the dict of choices at every call."""
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None or len(field.source_attrs) != 1 or field.default is not serializers.empty:
        return None
    match = re.fullmatch(r"get_(\w+)_display", field.source_attrs[0])
    if match is None:
        return None
    try:
        model_field = model._meta.get_field(match[1])
    except FieldDoesNotExist:
        return None
    if not model_field.choices or model_field.is_relation:
        return None
    labels = dict(model_field.flatchoices)
    value_of = attrgetter(model_field.attname)

    def label(instance: Any) -> Any:
        value = value_of(instance)
        # Shown as str() of the label, as Django's method does (in the active language).
        return labels.get(value, value)

    return label


def _iso_datetime(field: serializers.Field) -> Callable[[Any], Any] | None:
    """For a plain DateTimeField shown as ISO 8601 in the active time zone: the same text
    in a few calls. DRF's method looks up the format and the zone and checks awareness
    through several layers for every value, and a list shows several times per row."""
    if (
        not isinstance(field, serializers.DateTimeField)
        or type(field).to_representation is not serializers.DateTimeField.to_representation
        or str(getattr(field, "format", api_settings.DATETIME_FORMAT)).lower() != ISO_8601
        or hasattr(field, "timezone")
        or not settings.USE_TZ
    ):
        return None
    generic = field.to_representation

    def show(value: Any) -> Any:
        if not isinstance(value, datetime) or value.utcoffset() is None:
            return generic(value)  # naive or not a datetime: DRF's own checks and errors
        try:
            text = value.astimezone(timezone.get_current_timezone()).isoformat()
        except OverflowError:
            return generic(value)
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return show


def _plan(template: serializers.Serializer) -> _Plan:
    plan: _Plan = []
    for name, field in template.fields.items():
        if field.write_only:
            continue
        attribute = _model_attribute(template, field)
        if attribute is not None:
            if isinstance(field, PrimaryKeyRelatedField):
                show = _identity
            else:
                show = _iso_datetime(field) or field.to_representation
            plan.append((name, attrgetter(attribute), show))
        elif (label := _choice_label(template, field)) is not None:
            plan.append((name, label, field.to_representation))
        elif isinstance(field, serializers.SerializerMethodField):
            plan.append((name, _identity, getattr(template, field.method_name)))
        else:
            show = _iso_datetime(field) or field.to_representation
            plan.append((name, field.get_attribute, show))
    return plan


class FastOutput:
    """Mix into an output Serializer (before it): `to_representation` uses fields built
    once per class. See the module docstring for when it is safe."""

    _fast_plan: _Plan

    def to_representation(self, instance: Any) -> dict:
        plan = type(self).__dict__.get("_fast_plan")
        if plan is None:
            plan = _plan(type(self)())
            type(self)._fast_plan = plan
        ret = {}
        for name, get, show in plan:
            try:
                value = get(instance)
            except SkipField:
                continue
            if value is None or (isinstance(value, PKOnlyObject) and value.pk is None):
                ret[name] = None
            else:
                ret[name] = show(value)
        return ret
