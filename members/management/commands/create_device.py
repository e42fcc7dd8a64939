"""Issue an API token for a till or staff app bound to one store. The token is printed once; only
its hash is stored, so a lost token means revoking the device (admin) and issuing a new one."""
from django.core.management.base import BaseCommand, CommandError

from members.api_auth import device_create
from members.models import Store


class Command(BaseCommand):
    help = "Create a till / device for a store and print its API token once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Device name, e.g. 'Till 3, 2F'")
        parser.add_argument("--store", required=True, help="Store code the device belongs to")

    def handle(self, *args, name: str, store: str, **options):
        name = name.strip()
        if not name or len(name) > 64:
            raise CommandError("Give a device name of 1 to 64 characters.")
        store_obj = Store.objects.filter(code=store, is_active=True).first()
        if store_obj is None:
            raise CommandError(f"No active store with code {store!r}.")
        device, token = device_create(name=name, store=store_obj)
        self.stderr.write(f"Created device {device} (id {device.pk}). The token is shown only once:")
        self.stdout.write(token)
        self.stderr.write("Send it as the header:  Authorization: Device <token>")
