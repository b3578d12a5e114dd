"""factory_boy factories for people and organisations. Places are real (Vansbro)."""

import factory
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from backend.accounts.models import User
from backend.community.models import (
    Association,
    Membership,
    MembershipState,
    Municipality,
    Role,
    Village,
)

PASSWORD = "correct horse battery"
VANSBRO = Point(14.22458, 60.50893, srid=4326)
DALA_JARNA = Point(14.36667, 60.53333, srid=4326)
# A box around Vansbro municipality; enough for point-in-municipality tests.
VANSBRO_BOX = MultiPolygon(Polygon.from_bbox((13.4, 60.25, 14.65, 61.05)), srid=4326)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    full_name = factory.Faker("name", locale="sv_SE")
    phone = factory.Sequence(lambda n: f"+46701{n:06d}")
    password = factory.django.Password(PASSWORD)


class ManagedProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    full_name = factory.Faker("name", locale="sv_SE")
    phone = ""
    is_managed = True
    password = "!managed"


class MunicipalityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Municipality
        django_get_or_create = ["code"]

    name = "Vansbro"
    code = "2021"
    boundary = VANSBRO_BOX


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village

    name = factory.Sequence(lambda n: f"By {n}")
    municipality = factory.SubFactory(MunicipalityFactory)
    location = VANSBRO


class AssociationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Association

    name = factory.Sequence(lambda n: f"Byalaget {n}")
    municipality = factory.SubFactory(MunicipalityFactory)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    association = factory.SubFactory(AssociationFactory)
    roles = [Role.MEMBER]
    state = MembershipState.ACTIVE


def coordinator_of(association: Association) -> User:
    return MembershipFactory(association=association, roles=[Role.MEMBER, Role.COORDINATOR]).user
