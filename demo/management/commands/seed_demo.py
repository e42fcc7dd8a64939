"""python manage.py seed_demo --members N [--stores K] [--seed S] [--if-empty]

Deterministic demo data: stores, one staff login per role, N members with realistic Chinese names,
unique mobiles, birthdays, regions and (for some) ID numbers with valid check digits, a few desk
sign-ups waiting for review, a pending change request, and the portal demo member 13800138000.

Each part is a small function taking the `Demo` context, so later issues (purchases, points,
complaints) add their own `seed_*` step to `SEED_STEPS`. Members go in with COPY, like the import.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone, translation
from faker import Faker
from stdnum.cn import ric

from core import crypto
from members import roles
from members.importing import BATCH_SIZE, allocate_ids, copy_insert
from members.models import ChangeRequest, ConsentLog, Member, MemberChange, StaffProfile, Store, Tier
from members.services import (
    Actor,
    change_request_submit,
    member_numbers_allocate,
    member_register_desk,
)

DEMO_PASSWORD = "memberhub-demo"
DEMO_MEMBER_MOBILE = "13800138000"
DEMO_MEMBER_NAME = "王小明"


@dataclass(frozen=True)
class StaffAccount:
    username: str
    role: str
    role_label: str
    chain_wide: bool = False
    superuser: bool = False


STAFF_ACCOUNTS = [
    StaffAccount("desk", roles.FRONT_DESK, "前台 front desk"),
    StaffAccount("desk2", roles.FRONT_DESK, "前台 front desk (reviewer)"),
    StaffAccount("cs", roles.CUSTOMER_SERVICE, "客服 customer service"),
    StaffAccount("ops", roles.OPERATIONS_MANAGER, "运营经理 operations manager", chain_wide=True),
    StaffAccount("auditor", roles.AUDITOR, "审计 auditor", chain_wide=True),
    StaffAccount("admin", roles.ADMINISTRATOR, "管理员 administrator", chain_wide=True, superuser=True),
]

# code, name, city, address
STORES = [
    ("SH01", "上海南京路店", "上海", "上海市黄浦区南京东路800号"),
    ("BJ01", "北京王府井店", "北京", "北京市东城区王府井大街255号"),
    ("GZ01", "广州天河城店", "广州", "广州市天河区天河路208号"),
    ("HZ01", "杭州湖滨店", "杭州", "杭州市上城区延安路258号"),
    ("SZ01", "深圳华强北店", "深圳", "深圳市福田区华强北路1019号"),
    ("CD01", "成都春熙路店", "成都", "成都市锦江区春熙路西段68号"),
    ("NJ01", "南京新街口店", "南京", "南京市秦淮区中山南路1号"),
    ("WH01", "武汉江汉路店", "武汉", "武汉市江汉区江汉路118号"),
]

# province, city, district, ID area code (valid for every birth year in stdnum's table, or "" = none)
REGIONS = [
    ("上海市", "上海市", "黄浦区", "310101"), ("上海市", "上海市", "徐汇区", "310104"),
    ("上海市", "上海市", "长宁区", "310105"), ("上海市", "上海市", "静安区", "310106"),
    ("上海市", "上海市", "普陀区", "310107"), ("上海市", "上海市", "杨浦区", "310110"),
    ("北京市", "北京市", "东城区", "110101"), ("北京市", "北京市", "西城区", "110102"),
    ("北京市", "北京市", "朝阳区", "110105"), ("北京市", "北京市", "海淀区", "110108"),
    ("广东省", "广州市", "天河区", "440106"), ("广东省", "深圳市", "福田区", "440304"),
    ("浙江省", "杭州市", "西湖区", "330106"), ("江苏省", "南京市", "鼓楼区", "320106"),
    ("四川省", "成都市", "锦江区", "510104"), ("湖北省", "武汉市", "武昌区", "420106"),
]
TIER_WEIGHTS = {"normal": 70, "silver": 20, "gold": 8, "platinum": 2}
MOBILE_PREFIXES = ["138", "139", "137", "136", "135", "150", "151", "152", "158", "159", "186", "187", "188",
                   "177", "176", "189", "180", "133", "153", "199"]
OCCUPATIONS = ["教师", "工程师", "医生", "护士", "会计", "销售", "公务员", "设计师", "自由职业", "学生", "退休", ""]
STREETS = ["人民路", "解放路", "中山路", "建设路", "和平路", "文化路", "新华路", "长江路", "黄河路", "光明路"]
CHANNEL_WEIGHTS = {Member.Channel.PORTAL: 50, Member.Channel.DESK: 30, Member.Channel.TILL: 20}


@dataclass
class Demo:
    """What the steps share: the seeded randomness and what earlier steps made."""

    seed: int
    rng: random.Random
    faker: Faker
    stores: list[Store] = field(default_factory=list)
    staff: dict[str, User] = field(default_factory=dict)
    tiers: dict[str, Tier] = field(default_factory=dict)
    member_ids: list[int] = field(default_factory=list)


def make_demo(seed: int) -> Demo:
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    return Demo(seed=seed, rng=random.Random(seed), faker=faker)


# ---------------------------------------------------------------- steps


def seed_stores(demo: Demo, count: int) -> list[Store]:
    for code, name, city, address in STORES[:count]:
        store, _ = Store.objects.get_or_create(code=code, defaults={"name": name, "city": city, "address": address})
        demo.stores.append(store)
    return demo.stores


def seed_staff(demo: Demo) -> dict[str, User]:
    """One login per role; desk, desk2 and cs work in store 1 (desk2 can review desk's sign-ups)."""
    home = demo.stores[0]
    for account in STAFF_ACCOUNTS:
        user, _ = User.objects.get_or_create(username=account.username)
        user.is_staff = True
        user.is_superuser = account.superuser
        user.set_password(DEMO_PASSWORD)  # validators do not apply here; this is a published demo password
        user.save()
        user.groups.add(Group.objects.get(name=account.role))
        StaffProfile.objects.update_or_create(
            user=user,
            defaults={"store": None if account.chain_wide else home, "chain_wide": account.chain_wide,
                      "display_name": account.role_label.split()[0] + " " + account.username},
        )
        demo.staff[account.username] = user
    if home.manager_id is None:
        home.manager = demo.staff["ops"]
        home.save(update_fields=["manager"])
    return demo.staff


def _with_check_digit(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")  # calc_check_digit ignores the last character


def _id_number(rng: random.Random, area: str, birthday: dt.date) -> str | None:
    if not area:
        return None
    number = _with_check_digit(f"{area}{birthday:%Y%m%d}{rng.randrange(1000):03d}")
    return number if ric.is_valid(number) else None  # area codes are checked against the birth date


def generate_members(demo: Demo, count: int, *, taken_mobiles: set[str] = frozenset()) -> list[dict]:
    """Plain member data, a function of the seed only (tested for determinism)."""
    rng, faker = demo.rng, demo.faker
    today = timezone.localdate()
    tiers, tier_weights = list(TIER_WEIGHTS), list(TIER_WEIGHTS.values())
    channels, channel_weights = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    mobiles: set[str] = set(taken_mobiles) | {DEMO_MEMBER_MOBILE}
    id_numbers: set[str] = set()
    out = []
    for _ in range(count):
        gender = rng.choice("MF")
        name = faker.name_male() if gender == "M" else faker.name_female()
        mobile = DEMO_MEMBER_MOBILE
        while mobile in mobiles:
            mobile = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        mobiles.add(mobile)
        birthday = today - dt.timedelta(days=rng.randint(18 * 365, 75 * 365))
        province, city, district, area = rng.choice(REGIONS)
        id_number = _id_number(rng, area, birthday) if rng.random() < 0.3 else None
        if id_number in id_numbers:
            id_number = None
        if id_number:
            id_numbers.add(id_number)
        out.append({
            "name": name, "gender": gender, "mobile": mobile, "birthday": birthday, "id_number": id_number,
            "province": province, "city": city, "district": district,
            "address": f"{district}{rng.choice(STREETS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋{rng.randint(101, 2504)}室",
            "occupation": rng.choice(OCCUPATIONS),
            "email": faker.free_email() if rng.random() < 0.4 else "",
            "tier": rng.choices(tiers, tier_weights)[0],
            "store_index": min(int(rng.expovariate(0.8)), len(demo.stores) - 1) if demo.stores else 0,
            "channel": rng.choices(channels, channel_weights)[0],
            "marketing": rng.random() < 0.6,
            "joined_days_ago": rng.randint(0, 3 * 365),
        })
    return out


def _insert_members(demo: Demo, people: list[dict]) -> list[int]:
    """Active members with their consent records and sign-up history, as the services would write them."""
    version = settings.PRIVACY_POLICY_VERSION
    now = timezone.now()
    desk = demo.staff.get("desk")
    numbers = iter(member_numbers_allocate(len(people))) if people else iter(())
    consent_channel = {Member.Channel.PORTAL: ConsentLog.Channel.PORTAL, Member.Channel.DESK: ConsentLog.Channel.DESK,
                       Member.Channel.TILL: ConsentLog.Channel.TILL, Member.Channel.IMPORT: ConsentLog.Channel.IMPORT}
    ids: list[int] = []
    for start in range(0, len(people), BATCH_SIZE):
        batch = people[start:start + BATCH_SIZE]
        batch_ids = allocate_ids(Member, len(batch))
        members, consents, changes = [], [], []
        for pk, p in zip(batch_ids, batch, strict=True):
            joined = now - dt.timedelta(days=p["joined_days_ago"], minutes=pk % 600)
            by_desk = p["channel"] == Member.Channel.DESK and desk is not None
            members.append({
                "id": pk, "member_no": next(numbers), "status": Member.Status.ACTIVE, "name": p["name"],
                "gender": p["gender"], "birthday": p["birthday"],
                "mobile_enc": crypto.encrypt(p["mobile"]), "mobile_hash": crypto.lookup_hash(p["mobile"]),
                "mobile_masked": crypto.mask_mobile(p["mobile"]),
                "id_number_enc": crypto.encrypt(p["id_number"]), "id_number_hash": crypto.lookup_hash(p["id_number"]),
                "id_number_masked": crypto.mask_id_number(p["id_number"]),
                "province": p["province"], "city": p["city"], "district": p["district"],
                "address_enc": crypto.encrypt(p["address"]), "address_masked": crypto.mask_text(p["address"]),
                "occupation": p["occupation"], "email": p["email"],
                "home_store_id": demo.stores[p["store_index"]].pk, "tier_id": demo.tiers[p["tier"]].pk,
                "channel": p["channel"], "created_by_id": desk.pk if by_desk else None,
                "reviewed_by_id": demo.staff["desk2"].pk if by_desk else None, "reviewed_at": joined if by_desk else None,
                "privacy_version": version, "marketing_consent": p["marketing"],
                "created_at": joined, "updated_at": joined,
            })
            common = {"member_id": pk, "version": version, "channel": consent_channel[p["channel"]], "at": joined,
                      "actor_id": desk.pk if by_desk else None}
            consents.append({**common, "kind": ConsentLog.Kind.PRIVACY, "granted": True})
            consents.append({**common, "kind": ConsentLog.Kind.MARKETING, "granted": p["marketing"]})
            changes.append({"member_id": pk, "at": joined, "field": "status", "old_value": "",
                            "new_value": Member.Status.ACTIVE, "actor_id": desk.pk if by_desk else None,
                            "actor_label": "desk" if by_desk else ("member" if p["channel"] == "portal" else "till"),
                            "channel": p["channel"]})
        copy_insert(Member, members)
        copy_insert(ConsentLog, consents)
        copy_insert(MemberChange, changes)
        ids.extend(batch_ids)
    return ids


def seed_members(demo: Demo, count: int) -> list[int]:
    demo.tiers = {t.code: t for t in Tier.objects.all()}
    people = generate_members(demo, count)
    taken = set(Member.objects.filter(
        mobile_hash__in=[crypto.lookup_hash(p["mobile"]) for p in people]).values_list("mobile_hash", flat=True))
    if taken:  # re-seeding next to existing members: leave out the few numbers that are taken
        people = [p for p in people if crypto.lookup_hash(p["mobile"]) not in taken]
    demo.member_ids = _insert_members(demo, people)
    return demo.member_ids


def seed_demo_member(demo: Demo) -> Member:
    """The portal demo: 13800138000, gold tier, store 1 (log in with the SMS code from the console)."""
    existing = Member.objects.filter(mobile_hash=crypto.lookup_hash(DEMO_MEMBER_MOBILE)).first()
    if existing:
        return existing
    person = {
        "name": DEMO_MEMBER_NAME, "gender": "M", "mobile": DEMO_MEMBER_MOBILE, "birthday": dt.date(1988, 6, 16),
        "id_number": _with_check_digit("11010519880616001"), "province": "上海市", "city": "上海市", "district": "黄浦区",
        "address": "黄浦区南京东路800号", "occupation": "工程师", "email": "demo@example.com", "tier": "gold",
        "store_index": 0, "channel": Member.Channel.PORTAL, "marketing": True, "joined_days_ago": 400,
    }
    demo.tiers = demo.tiers or {t.code: t for t in Tier.objects.all()}
    if not ric.is_valid(person["id_number"]) or Member.objects.filter(
            id_number_hash=crypto.lookup_hash(person["id_number"])).exists():
        person["id_number"] = None
    (pk,) = _insert_members(demo, [person])
    return Member.objects.get(pk=pk)


def seed_pending_signups(demo: Demo, count: int = 3) -> list[Member]:
    """Desk sign-ups by `desk` waiting in the review queue, so `desk2` can demo the four-eyes review."""
    pending = []
    for p in generate_members(demo, count):
        data = {k: p[k] for k in ("name", "mobile", "gender", "province", "city", "district", "address",
                                  "occupation", "email")}
        data["birthday"] = p["birthday"].isoformat()
        if Member.objects.filter(mobile_hash=crypto.lookup_hash(p["mobile"])).exists():
            continue
        pending.append(member_register_desk(data=data, staff=demo.staff["desk"], store=demo.stores[0],
                                            marketing=p["marketing"], privacy_accepted=True))
    return pending


def seed_change_request(demo: Demo) -> ChangeRequest | None:
    """One pending change (a new address) on a store-1 member, requested at the desk."""
    member = (Member.objects.filter(home_store=demo.stores[0], status=Member.Status.ACTIVE)
              .exclude(change_requests__status=ChangeRequest.Status.PENDING)
              .exclude(mobile_hash=crypto.lookup_hash(DEMO_MEMBER_MOBILE)).order_by("pk").first())
    if member is None:
        return None
    new_address = f"{member.district or '黄浦区'}{demo.rng.choice(STREETS)}{demo.rng.randint(1, 999)}号"
    return change_request_submit(member=member, changes={"address": new_address, "occupation": "设计师"},
                                 actor=Actor.staff(demo.staff["desk"]))


def seed_purchase_history(demo: Demo) -> dict:
    """Two years of purchases with points for every active member, the demo member included."""
    from points.demo import seed_purchases
    from points.models import PointsConfig

    ids = list(Member.objects.filter(status=Member.Status.ACTIVE).values_list("pk", flat=True))
    return seed_purchases(ids, seed=demo.seed, expiry_months=PointsConfig.get().expiry_months)


def seed_evaluation_snapshots(demo: Demo) -> dict:
    return _evaluation_and_dashboards()


def seed_catalogue_step(demo: Demo) -> dict:
    """Gifts, coupon types, a lottery, bookable slots, an event, partner offers, pending tier proposals."""
    from demo.catalogue import seed_catalogue

    return seed_catalogue(demo.stores)


def seed_service(demo: Demo) -> dict:
    """Complaints, consultations and FAQ (service desk); visits, a survey with answers (care)."""
    from care.demo import seed_care
    from service_desk.demo import seed_complaints

    ids = list(Member.objects.filter(status=Member.Status.ACTIVE).order_by("pk").values_list("pk", flat=True))
    # The demo member keeps the current survey to answer (the member persona's first-run task, issue 16).
    demo_member = Member.objects.filter(mobile_hash=crypto.lookup_hash(DEMO_MEMBER_MOBILE)).values_list("pk", flat=True)
    others = [pk for pk in ids if pk not in set(demo_member)]
    return {**seed_complaints(ids, seed=demo.seed), **seed_care(others, seed=demo.seed)}


class Command(BaseCommand):
    help = "Load deterministic demo data: stores, staff logins, members, pending reviews."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=3000)
        parser.add_argument("--stores", type=int, default=4, choices=range(1, len(STORES) + 1), metavar="K")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any member exists")
        parser.add_argument("--no-purchases", action="store_true",
                            help="members only (no purchase history, points or tiers' spend)")

    def handle(self, *args, members, stores, seed, if_empty, no_purchases=False, **options):
        if if_empty and Member.objects.exists():
            self.stdout.write("Members exist already; demo data not loaded.")
            return
        started = time.perf_counter()
        demo = make_demo(seed)
        timings = []

        def step(label, function, *args):
            t0 = time.perf_counter()
            result = function(demo, *args)
            timings.append(f"{label} {time.perf_counter() - t0:.1f} s")
            return result

        # Texts stored with the rows (ledger reasons, notices) are written in the chain's language, as a
        # till or desk request in that language writes them.
        with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
            step("stores", seed_stores, stores)
            step("staff", seed_staff)
            step("members", seed_members, members)
            step("demo member", seed_demo_member)
            pending = step("sign-ups", seed_pending_signups)
            change = step("change request", seed_change_request)
            history = {"purchases": 0} if no_purchases else step("purchases", seed_purchase_history)
            service = step("service", seed_service)
            catalogue = step("catalogue", seed_catalogue_step)
            if not no_purchases:
                step("evaluation", seed_evaluation_snapshots)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Demo data: {len(demo.stores)} stores, {len(demo.staff)} staff logins, {len(demo.member_ids)} members "
            f"+ demo member {DEMO_MEMBER_MOBILE}, {len(pending)} pending sign-ups, "
            f"{1 if change else 0} pending change request, {history['purchases']} purchases with points, "
            f"{service.get('complaints', 0)} complaints, {service.get('visits_created', 0)} visits, {service.get('survey_answers', 0)} survey answers "
            f"{catalogue['gifts']} gifts ({catalogue['gift_images']} pictures), {catalogue['slots']} bookable slots, {catalogue['proposals']} tier proposals "
            f"in {elapsed:.1f} s "
            f"({', '.join(timings)})."
        )


def _evaluation_and_dashboards() -> dict:
    """RFM for yesterday and 30 days before (so movement shows), closeness for yesterday, lifecycle for
    yesterday and every 30 days back to 150 days before (so the stages show over time)."""
    from evaluation.closeness import closeness_compute
    from evaluation.lifecycle import lifecycle_compute
    from evaluation.rfm import rfm_compute

    yesterday = timezone.localdate() - dt.timedelta(days=1)
    rfm_compute(as_of=yesterday - dt.timedelta(days=30))
    rfm_compute(as_of=yesterday)
    closeness_compute(as_of=yesterday)
    # Lifecycle every 30 days back to five months ago, so the dashboard shows the stages over time
    # (issue 16); each date brings its RFM snapshot, older than the 30-day one movement compares with.
    for back in (150, 120, 90, 60, 30, 0):
        lifecycle_compute(as_of=yesterday - dt.timedelta(days=back))
    # Dashboards: the last 60 days of daily figures, this month's and year's cube, the RFM summaries.
    from dashboards.jobs import consumption_cube_for, dashboard_daily_for, dashboard_evaluation_for, periods_of

    for back in range(60, 0, -1):  # 60 days: the last 30 and the 30 before them for the ▲▼ comparison
        dashboard_daily_for(timezone.localdate() - dt.timedelta(days=back))
    for period, first, last in periods_of(yesterday):
        consumption_cube_for(period, first, last)
    dashboard_evaluation_for(yesterday - dt.timedelta(days=151), yesterday)
    return {"rfm_dates": 2}
