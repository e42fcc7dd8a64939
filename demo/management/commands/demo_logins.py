"""python manage.py demo_logins --base-url URL — where to go and how to log in after seed_demo."""
from django.core.management.base import BaseCommand
from django.urls import reverse

from demo.management.commands.seed_demo import DEMO_MEMBER_MOBILE, DEMO_PASSWORD, STAFF_ACCOUNTS


class Command(BaseCommand):
    help = "Print the demo URLs and accounts."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, base_url, **options):
        base = base_url.rstrip("/")
        out = self.stdout.write
        out("")
        out("MemberHub demo")
        out(f"  Member portal : {base}{reverse('portal:home')}")
        out(f"  Front desk    : {base}{reverse('desk:home')}  (staff login {base}{reverse('staff_login')})")
        out(f"  Staff admin   : {base}{reverse('admin:index')}")
        out(f"  API docs      : {base}{reverse('api-docs')}")
        out("")
        out(f"Staff accounts (password for all: {DEMO_PASSWORD})")
        for account in STAFF_ACCOUNTS:
            where = "all stores" if account.chain_wide else "store 1"
            out(f"  {account.username:<8} {account.role_label:<28} {where}")
        out("")
        out(f"Member portal login: mobile {DEMO_MEMBER_MOBILE}; the SMS code is printed on this console.")
        out("")
