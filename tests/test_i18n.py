"""Korean first: the catalog covers every string the code marks for translation, every entry has
a Korean translation, and the language a page speaks is the user's choice, then the browser's,
then Korean (docs/architecture.md, "Languages and colours")."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.selectors import SESSION_KEY
from accounts.services import preferences_update

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale" / "ko" / "LC_MESSAGES"
CATALOGS = ["django.po", "djangojs.po"]
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file (blank-line separated, as makemessages writes them):
    {"msgid", "msgid_plural", "msgstr": [...], "fuzzy"} each; the header and obsolete (#~)
    entries left out."""
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry = {"msgctxt": "", "msgid": "", "msgid_plural": "", "msgstr": [], "fuzzy": False}
        field = None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry["fuzzy"] = "fuzzy" in line
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                text = STRING.match(line).group(1)
                if field.startswith("msgstr"):
                    entry["msgstr"][-1] += text
                else:
                    entry[field] += text
            else:
                field, _, rest = line.partition(" ")
                text = STRING.search(rest).group(1)
                if field.startswith("msgstr"):
                    entry["msgstr"].append(text)
                else:
                    entry[field] += text
        if entry["msgid"]:
            entries.append(entry)
    return entries


def test_the_po_reader_sees_untranslated_fuzzy_and_plural_entries(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: ko\\n"\n\n'
        'msgid "A"\nmsgstr "가"\n\n'
        'msgid "B"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "C"\nmsgstr "다"\n\n'
        'msgid "one"\nmsgid_plural "many"\nmsgstr[0] ""\n\n'
        'msgctxt "verb"\nmsgid "Long "\n"text"\nmsgstr ""\n"긴 "\n"글"\n\n'
        '#~ msgid "Gone"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    assert untranslated(po) == ["B", "C", "one"]
    assert {e["msgid"] for e in po_entries(po)} == {"A", "B", "C", "one", "Long text"}


def untranslated(path: Path) -> list[str]:
    return [e["msgid"] for e in po_entries(path) if e["fuzzy"] or not all(e["msgstr"])]


@pytest.mark.parametrize("catalog", CATALOGS)
def test_every_catalog_entry_has_a_korean_translation(catalog):
    path = LOCALE / catalog
    if catalog == "djangojs.po" and not path.exists():
        pytest.skip("no JavaScript string is marked for translation")
    assert untranslated(path) == [], f"{path.relative_to(ROOT)}: translate these (make messages)"


def copy_sources(target: Path) -> None:
    """What makemessages reads (Python, templates, our scripts) and the committed catalogs."""
    skip = {".venv", "var", "staticfiles", "test-artifacts", ".git", "__pycache__", "node_modules"}

    def ignore(folder, names):
        return [
            n
            for n in names
            if n in skip
            or n.endswith((".min.js", ".mo", ".pyc", ".png", ".svg", ".lock"))
            or (n.startswith(".") and n != ".env.example")
        ]

    shutil.copytree(ROOT, target, ignore=ignore, symlinks=False)


def test_every_string_marked_in_the_code_is_in_the_catalog(tmp_path):
    """Runs `make messages` on a copy of the sources: a string someone wrapped in gettext or
    {% translate %} but did not add to the catalog fails here, named."""
    if shutil.which("msgfmt") is None:
        pytest.fail("gettext is missing: apt-get install gettext (make test does)")
    copy = tmp_path / "src"
    copy_sources(copy)
    env = {**os.environ, "PY": sys.executable, "DEBUG": "true", "VAR_DIR": str(tmp_path / "var")}
    subprocess.run(["scripts/makemessages.sh"], cwd=copy, env=env, check=True, timeout=300)
    for catalog in CATALOGS:
        extracted = copy / "locale" / "ko" / "LC_MESSAGES" / catalog
        committed = LOCALE / catalog
        wanted = {e["msgid"] for e in po_entries(extracted)} if extracted.exists() else set()
        have = {e["msgid"] for e in po_entries(committed)} if committed.exists() else set()
        assert sorted(wanted - have) == [], (
            f"locale/ko/LC_MESSAGES/{catalog} lacks these strings: run `make messages` and "
            "translate them"
        )
        assert sorted(have - wanted) == [], f"{catalog}: unused entries (make messages drops them)"


LOGIN = "/accounts/login/"


@pytest.mark.django_db
def test_pages_are_korean_by_default(client, korean):
    response = client.get(LOGIN)
    assert response["Content-Language"] == "ko"
    assert '<html lang="ko">' in response.text
    assert "로그인" in response.text and "Log in" not in response.text


@pytest.mark.django_db
def test_accept_language_wins_over_the_default(client, korean):
    response = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "en"
    assert "Log in" in response.text and "로그인" not in response.text


@pytest.mark.django_db
def test_the_saved_language_wins_over_accept_language(client, user, korean):
    preferences_update(user=user, language="en", candle_colors="kr")
    client.force_login(user)  # copies the preferences into the session
    page = client.get(reverse("accounts:preferences"), HTTP_ACCEPT_LANGUAGE="ko-KR")
    assert page["Content-Language"] == "en"
    assert "Settings" in page.text and "설정" not in page.text

    answer = client.post(
        reverse("accounts:preferences"),
        {"language": "ko", "candle_colors": "intl"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 302
    assert client.session[SESSION_KEY] == {"language": "ko", "candle_colors": "intl"}
    page = client.get(reverse("accounts:preferences"), HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "ko"
    assert "설정을 저장했습니다." in page.text
    assert 'class="colors-intl"' in page.text


@pytest.mark.django_db
def test_browser_setting_follows_accept_language(client, user, korean):
    preferences_update(user=user, language="", candle_colors="kr")
    client.force_login(user)
    assert client.get("/settings/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "en"
    assert client.get("/settings/")["Content-Language"] == "ko"


@pytest.mark.django_db
def test_a_bad_preference_is_refused_with_the_reason(user_client):
    answer = user_client.post("/settings/", {"language": "fr", "candle_colors": "purple"})
    assert answer.status_code == 400
    assert "Select a valid choice." in answer.text


@pytest.mark.django_db
def test_set_language_needs_the_csrf_token_and_sets_the_cookie(korean):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/i18n/setlang/", {"language": "en", "next": LOGIN}).status_code == 403
    page = strict.get(LOGIN)
    token = page.cookies["csrftoken"].value
    answer = strict.post(
        "/i18n/setlang/", {"language": "en", "next": LOGIN, "csrfmiddlewaretoken": token}
    )
    assert answer.status_code == 302
    assert "Log in" in strict.get(LOGIN).text


@pytest.mark.django_db
def test_javascript_catalog_is_served_per_language(client):
    ko = client.get("/jsi18n/ko.js")
    assert ko.status_code == 200 and "django.gettext" in ko.text
    assert ko["Cache-Control"].startswith(("max-age", "public"))
    assert client.get("/jsi18n/fr.js").status_code == 404


def test_korean_formats_group_thousands(korean):
    from django.template import Context, Template

    template = Template('{% load humanize %}{{ n|intcomma }} {{ x|floatformat:"2g" }} {{ n }}')
    with translation.override("ko"):
        # Shown figures group thousands; a bare number (ids, positions in attributes) does not.
        assert (
            template.render(Context({"n": 1234567, "x": 71500.5})) == "1,234,567 71,500.50 1234567"
        )


@pytest.mark.django_db
def test_the_scanner_and_choice_labels_read_in_korean(user_client, korean):
    html = user_client.get("/scanner/").text
    assert "<h1>스캐너</h1>" in html and "조건에 맞는 저장된 패턴이 없습니다" in html
    assert ">쌍바닥</option>" in html and ">일봉</option>" in html  # model choices


def leftover(html: str, english: list[str]) -> list[str]:
    """The English words of `english` still on a Korean page."""
    return [text for text in english if text in html]


@pytest.mark.django_db
def test_the_alert_pages_read_in_korean(user_client, user, korean):
    from alerts.tests.factories import make_rule, make_stock, make_watchlist

    stock = make_stock("005930", "삼성전자")
    make_watchlist(user, "반도체", [stock])
    make_rule(user, kind="price", stock=stock, level=80_000.0, direction="up", timeframes=8)
    rules = user_client.get("/alerts/").text
    assert "<h1>알림</h1>" in rules and "새 알림" in rules and "알림 만들기" in rules
    assert "005930 삼성전자 (1d): 종가 80,000원 상향 돌파" in rules  # the rule's description
    assert "<legend>패턴 상태 조건</legend>" in rules and "첫 알림 후 끄기" in rules
    english = ["New alert", "Create alert", "Pattern status rules", "Switch off", "Close crosses"]
    assert leftover(rules, english) == []
    watchlists = user_client.get("/watchlists/").text
    assert "<h1>관심종목</h1>" in watchlists and "종목 추가" in watchlists
    assert leftover(watchlists, ["Add symbol", "Last close", "Latest pattern", "Rename"]) == []
    settings_page = user_client.get("/alerts/settings/").text
    assert "<h1>알림 설정</h1>" in settings_page and "웹훅 서명" in settings_page
    assert leftover(settings_page, ["Webhook signature", "Delivery problems", "Send e-mails"]) == []


@pytest.mark.django_db
def test_a_notification_is_written_in_its_recipients_language(user, korean):
    """Stored text: each recipient's saved language at creation, whoever runs the evaluation."""
    from django.contrib.auth import get_user_model

    from alerts import services
    from alerts.models import PATTERN_STATUS_FLAGS, PATTERN_TYPE_FLAGS, Notification
    from alerts.tests.factories import SeriesBuilder, make_rule, make_stock

    english_user = get_user_model().objects.create_user("bob", password="x-Pass-12345")
    preferences_update(user=english_user, language="en", candle_colors="kr")
    series = SeriesBuilder(make_stock("005930", "삼성전자"))
    series.add_bars([10_000.0] * 30)
    series.store()
    services.series_alerts_evaluate(stock_id=series.stock.pk, timeframe="1d")  # the baseline
    for owner in (user, english_user):
        make_rule(
            owner,
            kind="pattern",
            stock=series.stock,
            timeframes=8,
            pattern_types=PATTERN_TYPE_FLAGS.mask(["DT"]),
            pattern_statuses=PATTERN_STATUS_FLAGS.mask(["forming"]),
        )
    series.pattern(type="DT", start=20, detected=30)
    series.add_bars([10_000.0])
    series.store()
    with translation.override("en"):  # e.g. a worker whose active language is English
        services.series_alerts_evaluate(stock_id=series.stock.pk, timeframe="1d")
    korean_note = Notification.objects.get(owner=user)
    assert korean_note.title == "005930 삼성전자 1d: 쌍봉 형성 중"
    assert korean_note.body.startswith("기준 봉 ") and "넥라인 " in korean_note.body
    assert "Neckline" not in korean_note.body
    english_note = Notification.objects.get(owner=english_user)
    assert english_note.title == "005930 삼성전자 1d: Double top forming"


@pytest.mark.django_db
def test_the_label_pages_read_in_korean(user_client, user, korean):
    from labeling.tests.factories import daily_index, make_label, price_frame
    from marketdata.tests.factories import make_candles, make_stock

    stock = make_stock("005930", "삼성전자")
    make_candles(stock, "1d", price_frame(daily_index()))
    label = make_label(user, stock)
    labels = user_client.get("/labels/").text
    assert "<h1>내 라벨</h1>" in labels and "새 라벨" in labels and "이 필터로 내보내기:" in labels
    assert "라벨 1개" in labels and ">시작일 (KST)" in labels  # the count, a filter label
    assert leftover(labels, ["My labels", "New label", "Export this filter", "Restore"]) == []
    detail = user_client.get(f"/labels/{label.pk}/").text
    assert "변경 이력" in detail and "<dt>핵심 지점</dt>" in detail
    assert leftover(detail, ["<dt>Stock</dt>", "<dt>Key points</dt>", "All labels"]) == []
    form = user_client.get("/labels/new/").text
    assert "라벨 저장" in form and ">메모</label>" in form
    assert leftover(form, ["Save label", "Mark a bar range", ">Notes</label>"]) == []
    review = user_client.get("/labels/review/").text
    assert "<h1>탐지기 리뷰</h1>" in review and "종목·주기 1개 검토" in review
    assert leftover(review, ["series reviewed", ">Review</button>", "Open on the Radar"]) == []
    queue = user_client.get("/labels/queue/").text
    assert "<h1>검토 대기열</h1>" in queue and "이 필터에 맞는 저장된 탐지가 없습니다." in queue


@pytest.mark.django_db
def test_a_label_form_error_reads_in_korean(user_client, korean):
    from labeling.tests.factories import post_data

    answer = user_client.post("/labels/new/", post_data(symbol="999999"))
    assert answer.status_code == 400
    assert "알 수 없는 종목 &#x27;999999&#x27;: 이 코드의 종목이 없습니다." in answer.text


@pytest.mark.django_db
def test_the_radar_reads_in_korean_chart_included(user_client, korean):
    import json

    from analysis.tests.factories import make_swing_stock

    make_swing_stock()
    html = user_client.get("/radar/", {"symbol": "005930", "tf": "1d"}).text
    assert "<title>삼성전자 005930 · 트레이딩 레이더" in html and "감지된 패턴" in html
    assert "거래량" in html and "주요 고점·저점" in html  # the layer toggles
    english = ["Trading Radar", "Major peaks/valleys", "Double tops", "<th>Label</th>", ">pending<"]
    assert leftover(html, english) == []
    start = html.index('<script id="radar-figure" type="application/json">')
    figure = json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])
    names = {trace.get("name") for trace in figure["data"]}
    assert {"가격", "거래량"} <= names and not {"Price", "Volume"} & names
    candles = next(t for t in figure["data"] if t["type"] == "candlestick")
    assert "<br>시 " in candles["text"][-1] and "거래량 " in candles["text"][-1]
    assert re.search(r"\((월|화|수|목|금)\) KST", candles["text"][-1])  # weekday in Korean


@pytest.mark.django_db
def test_small_radar_pages_and_pattern_stats_read_in_korean(user_client, korean):
    stats = user_client.get("/patterns/stats/").text
    assert "<h1>패턴 통계</h1>" in stats and "조건에 맞는 완성된 패턴이 아직 없습니다" in stats
    assert leftover(stats, ["Pattern statistics", "No completed patterns", "All patterns"]) == []
    unknown = user_client.get("/radar/", {"symbol": "00593X"}).text
    assert "<h1>종목을 찾을 수 없습니다</h1>" in unknown
    assert "코드나 한글 종목명으로 찾기" in unknown
    search = user_client.get("/radar/symbols", {"q": "없는종목"}).text
    assert "<h1>종목 찾기</h1>" in search and "“없는종목”에 맞는 종목이 없습니다." in search


@pytest.mark.django_db
def test_the_javascript_catalog_carries_the_radar_strings(client):
    """radar.js asks the catalog for the hover legend's keys (static/js/radar.js)."""
    import json

    script = client.get("/jsi18n/ko.js").text
    start = script.index("const newcatalog = ") + len("const newcatalog = ")
    catalog = json.loads(script[start : script.index(";\n", start)])
    words = ["시", "고", "저", "종", "거래량"]
    keys = {f"bar\x04{key}": word for key, word in zip("OHLCV", words, strict=True)}
    assert {key: catalog.get(key) for key in keys} == keys


@pytest.mark.django_db
def test_the_admin_names_the_models_in_korean(client, django_user_model, korean):
    admin = django_user_model.objects.create_superuser("root", password="x-Pass-12345")
    client.force_login(admin)
    index = client.get("/admin/").text
    assert "알림 규칙" in index and "관심종목 목록" in index and "감지된 패턴" in index
    assert leftover(index, ["Alert rules", "Watchlists", "Pattern instances"]) == []
    rules = client.get("/admin/alerts/alertrule/").text  # field names in the column headers
    assert "종류" in rules and ">Kind<" not in rules
    stock_form = client.get("/admin/marketdata/stock/add/").text  # help texts under the fields
    assert "KRX 단축코드(예: 005930)" in stock_form and "한글 종목명(예: 삼성전자)" in stock_form
    assert leftover(stock_form, ["KRX short code", "Korean name, e.g.", "Tradable on NXT"]) == []


@pytest.mark.django_db
def test_the_watchlist_trend_tooltips_read_in_korean(user_client, user, korean):
    from alerts.tests.factories import SeriesBuilder, make_stock, make_watchlist

    stock = make_stock("005930", "삼성전자")
    series = SeriesBuilder(stock)
    series.add_bars([70_000.0] * 6)
    series.trend(direction="up", start=3)
    series.store()
    make_watchlist(user, "반도체", [stock])
    page = user_client.get("/watchlists/").text
    assert 'title="1d: 상승"' in page and 'title="1w: 분석 전"' in page
    assert 'title="1d: up"' not in page
