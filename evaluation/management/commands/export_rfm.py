"""python manage.py export_rfm --as-of YYYY-MM-DD --out FILE.csv

Columns: member_ref,recency_days,frequency,monetary,r_score,f_score,m_score,rfm_class — member_ref is
the member number (what import_transactions accepts), rfm_class the Chinese class name (重要价值 ...).
Rows stream from a server-side cursor, ordered by member number; cells go through core.exports.safe_cell."""
from django.core.management.base import BaseCommand, CommandError

from core.exports import csv_writer
from evaluation.management.commands.compute_rfm import parse_day
from evaluation.models import RFM_CHINESE_NAMES, RfmClass, RfmRun, RfmSnapshot

COLUMNS = ["member_ref", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_class"]


class Command(BaseCommand):
    help = "Write the RFM snapshot of a date to CSV."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=parse_day, required=True)
        parser.add_argument("--out", required=True, help="CSV file to write")

    def handle(self, *args, as_of, out, **options):
        if not RfmRun.objects.filter(as_of=as_of).exists():
            raise CommandError(f"No RFM snapshot for {as_of}: run compute_rfm --as-of {as_of} first.")
        names = {RfmClass(k).value: v for k, v in RFM_CHINESE_NAMES.items()}
        rows = (RfmSnapshot.objects.filter(as_of=as_of).order_by("member__member_no")
                .values_list("member__member_no", "recency_days", "frequency", "monetary", "r_score", "f_score",
                             "m_score", "rfm_class"))
        n = 0
        try:
            with open(out, "w", newline="", encoding="utf-8") as fh:
                writer = csv_writer(fh)
                writer.writerow(COLUMNS)
                for row in rows.iterator(chunk_size=5000):
                    writer.writerow([*row[:7], names[row[7]]])
                    n += 1
        except OSError as exc:
            raise CommandError(f"Cannot write {out}: {exc}") from exc
        self.stdout.write(f"{n} rows written to {out}")
