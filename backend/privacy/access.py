"""Who may download or erase whose data: the person, a proxy of theirs (for a managed
profile or a resident who asked them to help), and Samby's administrators (staff) when
answering a request that came by letter or phone. Coordinators may not: they book for
members, but a member's whole file and the end of their account are the member's."""

from django.db.models import Q, QuerySet

from backend.accounts.models import User


def people_whose_data_actor_handles(*, actor: User) -> QuerySet[User]:
    if not actor.is_authenticated or not actor.is_active or actor.is_managed:
        return User.objects.none()
    if actor.is_staff:
        return User.objects.all()
    return User.objects.filter(
        Q(pk=actor.pk) | Q(proxy_links__proxy=actor, proxy_links__accepted_at__isnull=False)
    ).distinct()


def residents_of_proxy(*, proxy: User) -> QuerySet[User]:
    """The people `proxy` helps (listed on their profile page with the same actions):
    only those whose request they accepted."""
    return User.objects.filter(
        proxy_links__proxy=proxy, proxy_links__accepted_at__isnull=False
    ).order_by("full_name")
