class DeliveryError(Exception):
    """A channel could not deliver."""


class TransientDeliveryError(DeliveryError):
    """Worth another try later: the provider answered 5xx, timed out or was unreachable."""


class PermanentDeliveryError(DeliveryError):
    """Another try would fail the same way: bad number, refused request, gone endpoint."""
