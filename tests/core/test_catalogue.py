"""The zh-hans catalogue is complete: every message our code and templates mark for translation has a
Chinese text that is neither missing, fuzzy nor the English sentence copied (issue 16, "Language").

The check re-extracts the messages exactly as `makemessages` would, in a copy of the source tree (so the
committed catalogue is never touched), merged with the committed translations: a message written since
the catalogue was last updated comes out untranslated, one whose English changed comes out fuzzy."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
CATALOGUE = Path("locale/zh_Hans/LC_MESSAGES/django.po")
# Names and acronyms that are the same in Chinese.
SAME_IN_CHINESE = {"MemberHub", "RFM", "CSV", "JSON", "API", "SMS", "ID", "QR", "CSI", "ROI", "VIP"}
SKIPPED = ("tests", "bench", ".ci", "locale", "static")


def source_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    return [f for f in listed if f and f.split("/", 1)[0] not in SKIPPED and (ROOT / f).is_file()]


def entries(po_text: str) -> list[dict]:
    """The catalogue's entries (msgctxt, msgid, msgstr…, flags), header excluded. Input from msgcat
    --no-wrap, where a blank line separates entries and comments (flags) come before their msgid."""
    found = []
    for block in po_text.split("\n\n"):
        entry, key = {}, None
        for line in block.splitlines():
            field = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', line)
            if field:
                key = field.group(1)
                entry[key] = field.group(2)
            elif line.startswith('"') and key:
                entry[key] += line[1:-1]
            elif line.startswith("#,"):
                entry["flags"] = line[2:]
        if entry.get("msgid"):
            found.append(entry)
    return found


def extracted_catalogue(tmp_path: Path) -> list[dict]:
    tree = tmp_path / "tree"
    for name in source_files():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    (tree / CATALOGUE).parent.mkdir(parents=True)
    shutil.copy2(ROOT / CATALOGUE, tree / CATALOGUE)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "--no-location", "-v", "0"],
        cwd=tree, check=True,
    )
    flat = subprocess.run(["msgcat", "--no-wrap", str(tree / CATALOGUE)], check=True, capture_output=True, text=True)
    return entries(flat.stdout)


def label(entry: dict) -> str:
    return f"{entry.get('msgctxt', '')}|{entry['msgid']}"


def test_every_message_has_a_chinese_text(tmp_path):
    catalogue = extracted_catalogue(tmp_path)
    assert len(catalogue) > 2000  # the extraction really ran over the tree
    missing = [label(e) for e in catalogue if not (e.get("msgstr") or e.get("msgstr[0]"))]
    fuzzy = [label(e) for e in catalogue if "fuzzy" in e.get("flags", "")]
    copied = [
        label(e) for e in catalogue
        if (e.get("msgstr") or e.get("msgstr[0]")) == e["msgid"]
        and re.search(r"[A-Za-z]{2,}", e["msgid"]) and e["msgid"] not in SAME_IN_CHINESE
    ]
    assert not missing, f"{len(missing)} messages have no Chinese text in {CATALOGUE}: {missing[:40]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy messages in {CATALOGUE} (English changed): {fuzzy[:40]}"
    assert not copied, f"{len(copied)} messages are the English copied: {copied[:40]}"


def test_the_parser_sees_what_msgattrib_sees():
    """Guards the check above: our reading of the catalogue finds the entries gettext's own tool finds."""
    flat = subprocess.run(["msgcat", "--no-wrap", str(ROOT / CATALOGUE)], check=True, capture_output=True, text=True)
    ours = entries(flat.stdout)
    counted = subprocess.run(
        ["msgfmt", "--statistics", "-o", "/dev/null", str(ROOT / CATALOGUE)], check=True, capture_output=True, text=True,
    ).stderr
    translated = int(re.match(r"(\d+) translated", counted).group(1))
    assert len([e for e in ours if e.get("msgstr") or e.get("msgstr[0]")]) == translated


def test_every_field_of_our_models_has_a_translated_name():
    """The admin, forms and exports label a field by its verbose_name; Django's automatic one is English
    ("Created by", "Change request"). Encrypted, hashed and search-token columns are never shown."""
    from django.apps import apps
    from django.utils.functional import Promise

    ours = {p.name for p in (ROOT).iterdir() if (p / "apps.py").is_file()} - {"demo"}
    untranslated = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models() if model._meta.app_label in ours
        for field in model._meta.get_fields()
        if getattr(field, "concrete", False) and not field.auto_created and field.name != "id"
        and not field.name.endswith(("_enc", "_hash", "_tokens")) and not isinstance(field.verbose_name, Promise)
    ]
    assert len(ours) >= 12
    assert not untranslated, f"fields without a translated verbose_name: {untranslated}"
