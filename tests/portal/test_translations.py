"""Every catalogue is complete, and the committed .mo files match their .po sources."""

from pathlib import Path

import polib
import pytest
from django.conf import settings

LANGUAGES = ["pt_BR", "fr", "de"]


def _catalogues():
    for language in LANGUAGES:
        po = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
        yield pytest.param(po, id=language)


@pytest.mark.parametrize("po_path", list(_catalogues()))
def test_catalogue_is_fully_translated(po_path):
    catalogue = polib.pofile(str(po_path))
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert untranslated == [], f"untranslated in {po_path}: {untranslated[:20]}"
    assert fuzzy == [], f"fuzzy in {po_path}: {fuzzy[:20]}"
    assert len(catalogue) > 0


@pytest.mark.parametrize("po_path", list(_catalogues()))
def test_compiled_catalogue_matches_source(po_path):
    source = polib.pofile(str(po_path))
    compiled = polib.mofile(str(po_path.with_suffix(".mo")))

    def messages(catalogue):
        return {
            (e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
            for e in catalogue
            if not e.obsolete and "fuzzy" not in e.flags and e.msgid
        }

    assert messages(source) == messages(compiled), "run: make messages"
