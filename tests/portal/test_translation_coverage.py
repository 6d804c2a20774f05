"""Translation completeness beyond the catalogues themselves (issue 8).

test_translations.py proves each committed catalogue has no untranslated or fuzzy entry. This
file proves the catalogues are complete *for the code*: every message that `makemessages`
extracts today is translated in pt-BR, fr and de, and no template shows visible text that is
not marked for translation at all (which `makemessages` cannot see).

Needs GNU gettext (xgettext, msguniq, msgmerge, msgattrib), as `make messages` does.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.template.base import Lexer, TokenType
from django.test import override_settings

BASE_DIR = Path(settings.BASE_DIR)
TEMPLATES = BASE_DIR / "templates"
LANGUAGES = ["pt_BR", "fr", "de"]

# Top-level folders whose strings never reach a user (and the catalogues themselves).
NOT_SHIPPED = {"tests", "bench", "docs", "static", "staticfiles", "locale", "node_modules"}


def _ignore(directory: str, names: list[str]) -> set[str]:
    top = Path(directory).resolve() == BASE_DIR
    return {
        name
        for name in names
        if name.startswith(".") or name == "__pycache__" or (top and name in NOT_SHIPPED)
    }


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> polib.POFile:
    """The template (.pot) `makemessages` builds from the code as it is now.

    makemessages walks the current directory, writes the catalogue into any `locale/` folder
    it meets and writes scratch files next to the templates, so it runs on a copy of the
    sources with an empty LOCALE_PATHS: the committed catalogues are never touched.
    """
    if shutil.which("xgettext") is None:
        pytest.fail("GNU gettext is required (apt-get install gettext)")
    root = tmp_path_factory.mktemp("i18n")
    source = root / "src"
    locale = root / "locale"
    locale.mkdir()
    shutil.copytree(BASE_DIR, source, ignore=_ignore, symlinks=True)
    with pytest.MonkeyPatch.context() as mp, override_settings(LOCALE_PATHS=[str(locale)]):
        mp.chdir(source)
        call_command("makemessages", locale=["de"], keep_pot=True, verbosity=0)
    return polib.pofile(str(locale / "django.pot"))


def _key(entry: polib.POEntry) -> tuple[str | None, str]:
    return entry.msgctxt, entry.msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_extracted_message_is_translated_in_the_committed_catalogue(extracted, language):
    """The committed .po is up to date with the code: each msgid `makemessages` extracts
    (Python and templates) has a non-fuzzy translation, so no string falls back to English."""
    po = polib.pofile(str(BASE_DIR / "locale" / language / "LC_MESSAGES" / "django.po"))
    translated = {
        _key(e) for e in po if not e.obsolete and e.translated() and "fuzzy" not in e.flags
    }
    wanted = {_key(e): e for e in extracted}
    assert len(wanted) > 500, "extraction found suspiciously few messages"
    missing = [
        f"{entry.msgid!r} ({', '.join(f'{f}:{n}' for f, n in entry.occurrences[:2])})"
        for key, entry in sorted(wanted.items(), key=lambda item: item[0][1])
        if key not in translated
    ]
    assert missing == [], (
        f"{len(missing)} message(s) not translated in locale/{language} "
        f"(run makemessages, then translate): {missing[:20]}"
    )


# --- Template text that is not marked for translation ---------------------------------------

HOLE = "\ue000"  # Stands for a template tag or variable; not a letter, no HTML meaning.
# Template blocks whose content is translated, never rendered, or not visible text.
SKIPPED_BLOCKS = {
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
    "comment": "endcomment",
    "verbatim": "endverbatim",
}
INVISIBLE_NAMED_BLOCKS = {"bodyclass", "extrastyle", "extrahead"}  # Admin: CSS classes, <head>.
# Attribute values a person reads or hears (screen readers).
VISIBLE_ATTRIBUTES = {
    "alt",
    "title",
    "placeholder",
    "label",
    "aria-label",
    "aria-description",
    "aria-placeholder",
    "aria-roledescription",
    "aria-valuetext",
}
LETTER = re.compile(r"[^\W\d_]")  # Any letter, in any script.
QUERY_PARAMETER = re.compile(r"[?&][\w-]+=")  # A URL's query string in a plain-text e-mail.


def _flatten(source: str) -> str:
    """The template's literal text, with every tag and variable replaced by HOLE and the
    content of translation, comment and verbatim blocks dropped."""
    out: list[str] = []
    end: str | None = None
    depth = 0
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            bits = token.contents.split()
            name = bits[0] if bits else ""
            if end is not None:
                if name == "block" and end == "endblock":
                    depth += 1
                elif name == end:
                    depth -= 1
                    if depth == 0:
                        end = None
            elif name in SKIPPED_BLOCKS:
                end, depth = SKIPPED_BLOCKS[name], 1
            elif name == "block" and len(bits) > 1 and bits[1] in INVISIBLE_NAMED_BLOCKS:
                end, depth = "endblock", 1
            out.append(HOLE)
        elif token.token_type == TokenType.TEXT and end is None:
            out.append(token.contents)
        else:
            out.append(HOLE)
    # A tag whose name comes from a tag (`<{% if href %}a{% else %}button{% endif %}`).
    return "".join(out).replace("<" + HOLE, "<").replace("</" + HOLE, "</")


class _VisibleText(HTMLParser):
    """Collects text nodes (outside <script> and <style>) and visible attribute values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[tuple[int, str]] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        values = dict(attrs)
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self.chunks.append((self.getpos()[0], value))
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            self.chunks.append((self.getpos()[0], values.get("value") or ""))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.chunks.append((self.getpos()[0], data))


def untranslated_text(source: str, *, html: bool) -> list[str]:
    """Literal visible text in one template, as 'line: text' (empty when all is marked)."""
    text = _flatten(source)
    if html:
        parser = _VisibleText()
        parser.feed(text)
        parser.close()
        chunks = parser.chunks
    else:  # Plain-text e-mails and subjects: every character is shown.
        chunks = [(1, text)]
    found = []
    for line, chunk in chunks:
        visible = QUERY_PARAMETER.sub(" ", chunk.replace(HOLE, " "))
        if LETTER.search(visible):
            found.append(f"{line}: {' '.join(visible.split())[:80]!r}")
    return found


def _templates():
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix in (".html", ".txt"):
            yield path


def test_the_template_scanner_finds_unmarked_text():
    """The scanner itself: literal words are found in text, visible attributes and plain-text
    templates; translated, commented, hidden and markup-only content is not."""
    cases = {
        "<p>Hello</p>": True,
        '<img alt="Logo" src="x.png">': True,
        '<nav aria-label="Breadcrumb"></nav>': True,
        '<input type="submit" value="Send">': True,
        "<p>{% translate 'Hello' %} · 3 × {{ n }} — 10 %</p>": False,
        "{% blocktranslate %}Hello {{ name }}{% endblocktranslate %}": False,
        "{% comment %}TODO later{% endcomment %}<!-- note -->": False,
        '<div class="card wide" id="main" data-role="x"><script>let a = 1;</script></div>': False,
        "<style>body { color: red }</style>": False,
        '<{% if href %}a href="{{ href }}"{% else %}button{% endif %} class="b"></a>': False,
        '<nav aria-label="{% translate "Pages" %}"></nav>': False,
    }
    for source, has_text in cases.items():
        found = untranslated_text(source, html=True)
        assert bool(found) is has_text, (source, found)
    assert untranslated_text("Hello {{ name }}", html=False)
    assert not untranslated_text("{{ url }}?page={{ n }}\n", html=False)


def test_no_template_shows_text_not_marked_for_translation():
    """Every word a template shows (text, alt/title/placeholder/aria-label, button values, plain-
    text e-mails) is inside {% translate %} or {% blocktranslate %}, so makemessages sees it."""
    templates = list(_templates())
    assert len(templates) > 100
    problems = [
        f"{path.relative_to(BASE_DIR)}:{hit}"
        for path in templates
        for hit in untranslated_text(path.read_text(encoding="utf-8"), html=path.suffix == ".html")
    ]
    assert problems == [], "text not marked for translation:\n" + "\n".join(problems)
