"""The API's JSON: DRF's, with every moment in the local time zone. Serializers write a
datetime with the local offset ("2026-12-03T10:00:00+01:00"); an answer built as a dict
of model values holds the database's UTC datetimes, which DRF's encoder would write as
"…T09:00:00Z". One way for every answer, so a client shows what it gets."""

import datetime as dt

from django.utils import timezone
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder


class LocalTimeEncoder(JSONEncoder):
    def default(self, obj):
        if isinstance(obj, dt.datetime) and timezone.is_aware(obj):
            obj = timezone.localtime(obj)
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    encoder_class = LocalTimeEncoder
