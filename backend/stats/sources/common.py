"""SQL pieces the sources share."""

# The village a request belongs to when its service does not record one: the nearest
# village the association serves to `{point}` (a geography). NULL when it serves none.
NEAREST_VILLAGE = """(
    SELECT v.id FROM community_association_villages av
    JOIN community_village v ON v.id = av.village_id
    WHERE av.association_id = {association}
    ORDER BY v.location <-> {point}, v.id
    LIMIT 1
)"""


def elderly(*, birth_year: str, moment: str) -> str:
    """Whether the person was `%(elderly_age)s` or older in the year of `moment`."""
    return (
        f"({birth_year} IS NOT NULL AND EXTRACT(YEAR FROM {moment} AT TIME ZONE %(tz)s)"
        f" - {birth_year} >= %(elderly_age)s)"
    )
