"""The live page at `/` in headless Chromium: it renders the shares the
daemon computed (per platform and overall, with leaders), shows a clear empty
state, shows the Signals strip (active spikes with their cause, trending
hashtags), and is self-contained. Screenshots go to tests/artifacts/."""

import json
import re
import subprocess
import tempfile
from collections import Counter
from html.parser import HTMLParser

import pytest

from conftest import (ARTIFACTS, E2E_BRANDS, RULES_YAML, SOURCE_DIR, chromium_args, http_get,
                      start_daemon, wait_for, write_events)
from fake_api import DEMO, DEMO_AUTHORS, DEMO_VOICES, FakeApi

PAGE = SOURCE_DIR / "connectors" / "web" / "index.html"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children, self.texts = tag, dict(attrs), parent, [], []

    def text(self):
        parts = list(self.texts)
        for c in self.children:
            parts.append(c.text())
        return " ".join(p for p in (s.strip() for s in parts) if p)

    def find_all(self, pred):
        out = [self] if pred(self) else []
        for c in self.children:
            out += c.find_all(pred)
        return out


class Tree(HTMLParser):
    """Just enough of a DOM to find elements by attribute and read their text."""

    def __init__(self, html):
        super().__init__()
        self.root = self.cur = Node("#root", {})
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        if self.cur.tag not in ("script", "style"):
            self.cur.texts.append(data)


def render(chromium, url, screenshot=None):
    """The page's DOM after its first refreshes (virtual time: no waiting),
    and optionally a screenshot of it."""
    with tempfile.TemporaryDirectory(prefix="earshot-chromium-") as profile:
        base = chromium_args(chromium, profile) + ["--virtual-time-budget=7000",
                                                   "--window-size=1366,900"]
        r = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=90)
        assert r.returncode == 0 and "<html" in r.stdout, f"chromium failed:\n{r.stderr[-2000:]}"
        if screenshot:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            s = subprocess.run(base + [f"--screenshot={screenshot}", url],
                               capture_output=True, text=True, timeout=90)
            assert s.returncode == 0 and screenshot.exists(), f"screenshot failed:\n{s.stderr[-2000:]}"
        return Tree(r.stdout).root


def rows(dom, category):
    """{platform: (row text, [brand of each bar segment])} of a category card."""
    cards = dom.find_all(lambda n: n.attrs.get("data-category") == category)
    assert len(cards) == 1, f"expected one card for {category}, got {len(cards)}"
    out = {}
    for row in cards[0].find_all(lambda n: "data-platform" in n.attrs):
        segs = row.find_all(lambda n: n.attrs.get("class") == "seg")
        out[row.attrs["data-platform"]] = (row.text(), [s.attrs["data-brand"] for s in segs])
    table = {tr.attrs["data-brand"]: tr.text()
             for tr in cards[0].find_all(lambda n: n.tag == "tr" and "data-brand" in n.attrs)}
    return out, table


def authors_cells(dom, category):
    """{brand: text of its unique-authors cell} of a category card."""
    (card,) = dom.find_all(lambda n: n.attrs.get("data-category") == category)
    out = {}
    for tr in card.find_all(lambda n: n.tag == "tr" and "data-brand" in n.attrs):
        (cell,) = tr.find_all(lambda n: n.attrs.get("class") == "num authors")
        out[tr.attrs["data-brand"]] = cell.text()
    return out


def voices(dom, category, brand):
    """[(author id, item text)] of a brand's expanded top voices, or None."""
    (card,) = dom.find_all(lambda n: n.attrs.get("data-category") == category)
    rows = card.find_all(lambda n: n.tag == "tr" and n.attrs.get("data-voices-for") == brand)
    if not rows:
        return None
    return [(li.attrs["data-author"], li.text()) for li in rows[0].find_all(lambda n: n.tag == "li")]


def pct(n, total):
    return f"{100 * n / total:.1f}%"


def test_page_renders_daemon_shares(daemon, chromium):
    status, body = http_get(daemon.url + "/")
    assert status == 200
    assert body.decode() == PAGE.read_text(), "/ must serve connectors/web/index.html as embedded"

    counts = {}  # platform -> Counter(brand), from the event file itself
    for e in daemon.events:
        for brand in E2E_BRANDS:
            if re.search(rf"\b{brand}\b", e["text"], re.I):
                counts.setdefault(e["platform"], Counter())[brand] += 1
    counts["all"] = sum(counts.values(), Counter())

    dom = render(chromium, daemon.url + "/", screenshot=ARTIFACTS / "live_page.png")
    by_platform, table = rows(dom, "sneakers")
    assert set(by_platform) == set(counts), by_platform.keys()
    for platform, c in counts.items():
        text, segs = by_platform[platform]
        total = sum(c.values())
        leader = max(sorted(c), key=lambda b: c[b])
        # Every brand with mentions has a segment, largest first.
        assert segs == sorted(c, key=lambda b: (-c[b], b)), (platform, segs)
        assert f"{leader} {pct(c[leader], total)}" in text, (platform, text)
    total = sum(counts["all"].values())
    for brand in E2E_BRANDS:
        assert brand in table, table
        assert pct(counts["all"][brand], total) in table[brand], table[brand]
    assert "Waiting for events" not in dom.text()
    # The Signals strip is there, with every category's trending line.
    strip = dom.find_all(lambda n: n.attrs.get("id") == "signals")
    assert len(strip) == 1 and "hidden" not in strip[0].attrs, "no Signals strip"
    assert "Signals" in strip[0].text() and "Trending hashtags" in strip[0].text()
    assert strip[0].find_all(lambda n: n.attrs.get("data-trending") == "sneakers")
    # Unique authors beside mentions: every e2e post has its own author.
    authors = authors_cells(dom, "sneakers")
    for brand in E2E_BRANDS:
        assert authors[brand] == str(counts["all"][brand]), authors


def test_page_empty_state(chromium):
    with FakeApi({"sneakers": {"nike": {}, "adidas": {}}}, ["twitter", "reddit"]) as api:
        dom = render(chromium, api.url + "/", screenshot=ARTIFACTS / "live_page_empty.png")
    text = dom.text()
    assert "Waiting for events" in text
    assert "sneakers" in text
    assert not dom.find_all(lambda n: "data-category" in n.attrs)


def test_page_platform_leaders_and_selectors(chromium):
    counts = {"cola": {"coca-cola": {"twitter": 40, "tiktok": 25}, "pepsi": {"twitter": 22, "tiktok": 31}},
              "sneakers": {"nike": {"twitter": 6, "instagram": 1}, "adidas": {"twitter": 3, "instagram": 3},
                           "puma": {"twitter": 1}}}
    with FakeApi(counts, ["twitter", "instagram", "tiktok", "reddit"]) as api:
        dom = render(chromium, api.url + "/#window=1h&basis=reach")
    cola, _ = rows(dom, "cola")
    assert set(cola) == {"all", "twitter", "tiktok"}  # no row for silent platforms
    assert "coca-cola 64.5%" in cola["twitter"][0]
    assert "pepsi 55.4%" in cola["tiktok"][0]
    sneakers, table = rows(dom, "sneakers")
    assert "adidas 75.0%" in sneakers["instagram"][0]
    assert "nike 50.0%" in sneakers["all"][0]
    assert "7.1%" in table["puma"]
    # The selectors list the API's windows and bases; the hash picked 1h/reach.
    selects = {s.attrs["id"]: s for s in dom.find_all(lambda n: n.tag == "select")}
    assert [o.text() for o in selects["window"].children] == ["5m", "1h", "24h"]
    assert [o.text() for o in selects["basis"].children] == ["mentions", "reach", "engagement", "views"]
    assert "reach in the last 1h" in dom.text()


# --- The candidate view (shadow rules, docs/shadow.md) ----------------------
# The candidate drops post 2 from nike (an exclude) and counts puma's posts
# for a new brand, reebok: live nike 7, adidas 6, puma 1 (50.0%, 42.9%,
# 7.1%); candidate nike 6, adidas 6, reebok 1 (46.2%, 46.2%, 7.7%).
CANDIDATE_YAML = """\
category: sneakers
brands:
  - name: nike
    terms: [nike, "#nike"]
    exclude: ["post 2"]
  - name: adidas
    terms: [adidas]
  - name: reebok
    terms: [puma]
"""


@pytest.fixture(scope="module")
def shadow_daemon(tmp_path_factory):
    """`earshot run` with the e2e events, the sneakers rules and a candidate."""
    d = tmp_path_factory.mktemp("shadow")
    (d / "rules").mkdir()
    (d / "rules" / "sneakers.yaml").write_text(RULES_YAML)
    (d / "candidate").mkdir()
    (d / "candidate" / "sneakers.yaml").write_text(CANDIDATE_YAML)
    write_events(d / "events.jsonl")
    (d / "earshot.yaml").write_text("""\
source: {type: file, file: {paths: [events.jsonl], follow: true}}
rules: {paths: [rules/]}
shadow: {paths: [candidate/]}
windows:
  - {name: 5m, size: 5m, step: 10s}
  - {name: 1h, size: 1h, step: 1m}
platforms: [twitter, instagram, reddit]
http: {listen: "127.0.0.1:0"}
""")
    daemon = start_daemon(d / "earshot.yaml", d)
    try:
        def counted():
            status, body = daemon.get("/api/v1/shadow?window=5m")
            if status != 200:
                return False
            cats = json.loads(body)["categories"]
            return sum(c["live_total"] for c in cats) == 14 and sum(
                c["candidate_total"] for c in cats) == 13
        wait_for(counted, what="the shadow to count every event", proc=daemon.proc,
                 log=daemon.log_path)
        yield daemon.url
    finally:
        daemon.stop()


def test_candidate_view_shows_live_and_candidate_side_by_side(shadow_daemon, chromium):
    dom = render(chromium, shadow_daemon + "/#view=candidate&window=5m",
                 screenshot=ARTIFACTS / "live_page_candidate.png")
    cards = dom.find_all(lambda n: n.attrs.get("data-view") == "candidate")
    assert [c.attrs["data-category"] for c in cards] == ["sneakers"]
    card = cards[0]
    sets = {r.attrs["data-set"]: r for r in card.find_all(lambda n: "data-set" in n.attrs)}
    assert set(sets) == {"live", "candidate"}
    assert "nike 50.0%" in sets["live"].text()
    assert "adidas 46.2%" in sets["candidate"].text()  # a tie with nike: by name
    segs = lambda r: [s.attrs["data-brand"] for s in r.find_all(lambda n: n.attrs.get("class") == "seg")]
    assert segs(sets["live"]) == ["nike", "adidas", "puma"]
    assert segs(sets["candidate"]) == ["adidas", "nike", "reebok"]
    table = {tr.attrs["data-brand"]: tr.text()
             for tr in card.find_all(lambda n: n.tag == "tr" and "data-brand" in n.attrs)}
    assert set(table) == {"adidas", "nike", "puma", "reebok"}
    for brand, want in {"nike": ["50.0%", "46.2%", "−3.8 pts", "−1"],
                        "adidas": ["42.9%", "46.2%", "+3.3 pts"],
                        "puma": ["(dropped)", "7.1%", "−1"],
                        "reebok": ["(new)", "7.7%", "+1"]}.items():
        for w in want:
            assert w in table[brand], (brand, w, table[brand])
    # The changed posts, under their brand.
    changes = {ul.attrs["data-brand"]: ul for ul in card.find_all(
        lambda n: n.tag == "ul" and "data-brand" in n.attrs)}
    assert set(changes) == {"nike", "puma", "reebok"}
    nike = [(li.attrs["data-change"], li.text()) for li in changes["nike"].children]
    assert len(nike) == 1 and nike[0][0] == "removed"
    assert "Loving my new Nike shoes, post 2" in nike[0][1] and 'term "nike"' in nike[0][1]
    reebok = [(li.attrs["data-change"], li.text()) for li in changes["reebok"].children]
    assert reebok[0][0] == "added" and "post 9" in reebok[0][1] and 'term "puma"' in reebok[0][1]
    view = dom.find_all(lambda n: n.attrs.get("id") == "view-wrap")[0]
    assert "hidden" not in view.attrs


def test_view_selector_is_hidden_without_shadow_rules(chromium):
    with FakeApi({"sneakers": {"nike": {"twitter": 2}}}, ["twitter"]) as api:
        dom = render(chromium, api.url + "/#view=candidate")
    view = dom.find_all(lambda n: n.attrs.get("id") == "view-wrap")[0]
    assert "hidden" in view.attrs
    # It falls back to share of voice.
    assert dom.find_all(lambda n: n.attrs.get("data-category") == "sneakers")
    assert not dom.find_all(lambda n: n.attrs.get("data-view") == "candidate")


# /api/v1/signals (docs/api.md) as the golden case signals_burst has it, plus
# a spike with an id that looks like markup.
SIGNALS = {
    "pane_start": 1767261840000,
    "spikes": [
        {"category": "sneakers", "brand": "nike", "platform": "all", "count": 17,
         "baseline": 1.875, "score": 8.577462580600864, "hashtags": ["#airmaxday", "#running"],
         "samples": ["p13", "p14", "p15"]},
        {"category": "sneakers", "brand": "nike", "platform": "twitter", "count": 12,
         "baseline": 1.875, "score": 5.741937760567521, "hashtags": ["#airmaxday", "#running"],
         "samples": ["p13", "<b>p14</b>", "p15"]},
    ],
    "trending": [
        {"category": "cola", "hashtags": []},
        {"category": "sneakers", "hashtags": [
            {"hashtag": "#airmaxday", "count": 16, "score": 16},
            {"hashtag": "#running", "count": 4, "score": 2.1676323804986635}]},
    ],
}


def test_page_signals_strip(chromium):
    counts = {"sneakers": {"nike": {"twitter": 12, "instagram": 5}, "adidas": {"instagram": 1}},
              "cola": {"coke": {"twitter": 2}}}
    with FakeApi(counts, ["twitter", "instagram"], signals=SIGNALS) as api:
        dom = render(chromium, api.url + "/", screenshot=ARTIFACTS / "live_page_signals.png")
    strip = dom.find_all(lambda n: n.attrs.get("id") == "signals")
    assert len(strip) == 1 and "hidden" not in strip[0].attrs
    assert "pane from 10:04 UTC" in strip[0].text()
    spikes = {n.attrs["data-spike"]: n.text() for n in dom.find_all(lambda n: "data-spike" in n.attrs)}
    assert list(spikes) == ["sneakers/nike/all", "sneakers/nike/twitter"]  # as the API orders them
    all_ = spikes["sneakers/nike/all"]
    for part in ("nike", "z 8.6", "17 mentions, baseline 1.9", "cause: #airmaxday #running",
                 "samples: p13, p14, p15"):
        assert part in all_, (part, all_)
    # Free text stays text: the id that looks like markup is not markup.
    assert "<b>p14</b>" in spikes["sneakers/nike/twitter"]
    assert not strip[0].find_all(lambda n: n.tag == "b" and n.text() == "p14")
    trending = {n.attrs["data-trending"]: n.text()
                for n in dom.find_all(lambda n: "data-trending" in n.attrs)}
    assert "#airmaxday 16" in trending["sneakers"] and "#running 4" in trending["sneakers"]
    assert trending["sneakers"].index("#airmaxday") < trending["sneakers"].index("#running")
    assert "nothing trending" in trending["cola"]
    # The share-of-voice cards still render beside it.
    assert dom.find_all(lambda n: n.attrs.get("data-category") == "sneakers")


def test_page_signals_quiet_and_off(chromium):
    quiet = {"pane_start": None, "spikes": [], "trending": [{"category": "sneakers", "hashtags": []}]}
    with FakeApi({"sneakers": {"nike": {"twitter": 1}}}, ["twitter"], signals=quiet) as api:
        dom = render(chromium, api.url + "/")
    strip = dom.find_all(lambda n: n.attrs.get("id") == "signals")[0]
    assert "no pane has closed yet" in strip.text() and "No active spikes." in strip.text()
    with FakeApi({"sneakers": {"nike": {"twitter": 1}}}, ["twitter"]) as api:  # 404: signals off
        dom = render(chromium, api.url + "/")
    strip = dom.find_all(lambda n: n.attrs.get("id") == "signals")[0]
    assert "hidden" in strip.attrs and not strip.text()


def test_page_is_self_contained():
    html = PAGE.read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=", html, re.I), \
        "the page must inline everything"
    assert not re.search(r"url\(\s*['\"]?https?:", html, re.I)
    assert not re.search(r"fetch\(\s*['\"]https?:", html, re.I)
    assert "api/v1/share-of-voice" in html
    assert "api/v1/signals" in html
    assert "api/v1/unique-authors" in html and "api/v1/top-authors" in html
    assert len(html.encode()) < 64 * 1024


def test_page_unique_authors_and_expanded_top_voices(chromium):
    # The expanded brands are kept in the URL, like the window and basis.
    with FakeApi(DEMO, ["twitter", "instagram", "tiktok"], authors=DEMO_AUTHORS,
                 voices=DEMO_VOICES) as api:
        dom = render(chromium, api.url + "/#window=1h&basis=reach&voices=sneakers%2Fnike",
                     screenshot=ARTIFACTS / "live_page_voices.png")
        asked = [q for path, q in api.requests if path == "/api/v1/top-authors"]
    assert authors_cells(dom, "sneakers") == {"nike": "5", "adidas": "4", "puma": "1", "reebok": "0"}
    assert authors_cells(dom, "cola") == {"coca-cola": "52", "pepsi": "40"}
    # basis=reach asks for the top voices by reach: the API's order, followers first.
    assert asked and all(q == {"category": "sneakers", "brand": "nike", "window": "1h", "by": "reach"}
                         for q in asked), asked
    got = voices(dom, "sneakers", "nike")
    assert [a for a, _ in got] == ["1002", "1001", "1003"], got
    assert "@sneakerhead" in got[0][1] and "2 mentions" in got[0][1] and "98.0k followers" in got[0][1]
    assert got[2][1].startswith("1003"), got  # no handle: the id
    assert "top voices by reach (followers) in the last 1h" in dom.text()
    assert voices(dom, "sneakers", "adidas") is None  # only what was expanded
    toggles = {b.attrs["data-voices"]: b.attrs["aria-expanded"]
               for b in dom.find_all(lambda n: n.tag == "button" and "data-voices" in n.attrs)}
    assert toggles["sneakers/nike"] == "true" and toggles["sneakers/adidas"] == "false", toggles


# Loads the page in a same-origin frame, clicks nike's "top voices" button
# once the page has rendered, and copies the frame's cards and URL hash out
# for --dump-dom.
CLICK_HARNESS = """<!DOCTYPE html><html><body>
<iframe id="f" src="/#window=5m&basis=mentions" style="width:1300px;height:900px"></iframe>
<div id="out"></div>
<script>
const f = document.getElementById("f");
function waitFor(pick, then) {
  const x = f.contentDocument && pick(f.contentDocument);
  if (x) then(x); else setTimeout(() => waitFor(pick, then), 50);
}
f.addEventListener("load", () => waitFor(
  (d) => d.querySelector('button[data-voices="sneakers/nike"]'),
  (button) => { button.click();
    waitFor((d) => d.querySelector("tr.voices li"), () => {
      const out = document.getElementById("out");
      out.innerHTML = f.contentDocument.getElementById("main").innerHTML;
      out.setAttribute("data-hash", f.contentWindow.location.hash);
    }); }));
</script></body></html>"""


def test_page_top_voices_expand_on_click(chromium):
    with FakeApi(DEMO, ["twitter", "instagram"], authors=DEMO_AUTHORS, voices=DEMO_VOICES,
                 pages={"/click": CLICK_HARNESS}) as api:
        before = render(chromium, api.url + "/")
        dom = render(chromium, api.url + "/click")
    assert voices(before, "sneakers", "nike") is None  # collapsed until clicked
    (out,) = dom.find_all(lambda n: n.attrs.get("id") == "out")
    assert "voices=sneakers%2Fnike" in out.attrs.get("data-hash", ""), out.attrs
    got = voices(out, "sneakers", "nike")
    assert [a for a, _ in got] == ["1001", "1002", "1003"], got  # by mentions
    assert "3 mentions" in got[0][1]


def test_page_without_audience_still_renders(chromium):
    # audience.enabled: false -> the audience endpoints answer 400: dashes, no error.
    with FakeApi(DEMO, ["twitter"]) as api:
        dom = render(chromium, api.url + "/#voices=sneakers%2Fnike")
    assert set(authors_cells(dom, "sneakers").values()) == {"\u2013"}
    assert voices(dom, "sneakers", "nike") == []  # the row, with the reason
    assert "top voices unavailable: audience is disabled" in dom.text()
    assert "cannot reach earshot" not in dom.text()


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
