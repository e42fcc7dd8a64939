"""The nightly refresh rewrites the facts it folds changes into: with room left on each page the new
row version stays on its page (a HOT update, no index entries written), which halved the facts' write
cost of a 10M-purchase day in bench/consumption_cube.py. A period's next full build lays its rows out
this way; `VACUUM FULL dashboards_consumptionfact` does it for the facts already there."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('dashboards', '0006_cube_delta_merge'),
    ]

    operations = [
        migrations.RunSQL("ALTER TABLE dashboards_consumptionfact SET (fillfactor = 70)",
                          reverse_sql="ALTER TABLE dashboards_consumptionfact RESET (fillfactor)"),
    ]
