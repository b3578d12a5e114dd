from django.core.management.base import BaseCommand

from backend.notifications.push import vapid_keys_generate


class Command(BaseCommand):
    help = (
        "Make a VAPID key pair for Web Push and print it as environment lines "
        "(VAPID_PUBLIC_KEY=..., VAPID_PRIVATE_KEY=...). Keep the private key secret; "
        "changing the pair makes every browser subscribe again."
    )

    def handle(self, *args, **options) -> None:
        public, private = vapid_keys_generate()
        # Only the two lines on stdout, so `manage.py generate_vapid_keys >> .env` works.
        self.stdout.write(f"VAPID_PUBLIC_KEY={public}")
        self.stdout.write(f"VAPID_PRIVATE_KEY={private}")
