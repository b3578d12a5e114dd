"""Output shapes of the municipality statistics. A withheld figure is null; a withheld
row has `suppressed: true` and `figures: null` (see docs/privacy-statistics.md)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class StatsMunicipalityOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()


class StatsFiguresOutput(serializers.Serializer):
    requests = serializers.IntegerField(allow_null=True)
    fulfilled = serializers.IntegerField(allow_null=True)
    unfulfilled = serializers.IntegerField(allow_null=True)
    cancelled = serializers.IntegerField(allow_null=True)
    no_show = serializers.IntegerField(allow_null=True)
    people_requesting = serializers.IntegerField(allow_null=True)
    people_served = serializers.IntegerField(allow_null=True)
    people_served_elderly = serializers.IntegerField(allow_null=True)
    people_served_managed = serializers.IntegerField(allow_null=True)
    passengers = serializers.IntegerField(allow_null=True)
    vehicle_km = serializers.FloatField(allow_null=True)
    passenger_km = serializers.FloatField(allow_null=True)
    co2_avoided_kg = serializers.FloatField(allow_null=True)
    volunteer_hours = serializers.FloatField(allow_null=True)
    volunteer_km = serializers.FloatField(allow_null=True)
    usage_hours = serializers.FloatField(allow_null=True)
    median_minutes_to_accept = serializers.FloatField(allow_null=True)


@extend_schema_field(
    {
        "type": "string",
        "nullable": True,
        "description": "village or association id, service name, or the period's first day",
    }
)
class KeyField(serializers.Field):
    def to_representation(self, value) -> str | None:
        return None if value is None else str(value)


class StatsRowOutput(serializers.Serializer):
    key = KeyField()
    label = serializers.CharField()
    suppressed = serializers.BooleanField()
    figures = StatsFiguresOutput(allow_null=True)


class StatsTableOutput(serializers.Serializer):
    dimension = serializers.CharField()
    k = serializers.IntegerField()
    rows = StatsRowOutput(many=True)
    total = StatsRowOutput()


class StatsSummaryOutput(serializers.Serializer):
    municipality = StatsMunicipalityOutput()
    start = serializers.DateField()
    end = serializers.DateField()
    granularity = serializers.CharField()
    filter_withheld = serializers.BooleanField()
    total = StatsRowOutput()
    villages = StatsTableOutput()
    associations = StatsTableOutput()
    services = StatsTableOutput()
    series = StatsTableOutput()
    unmet_cells = serializers.IntegerField()
    unmet_cells_withheld = serializers.IntegerField()
