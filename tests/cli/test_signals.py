"""Signals (docs/signals.md): `earshot replay` and a
daemon's /metrics and /api/v1/signals against a straight Python
implementation of the section, on a 12-hour stream with a burst, an emerging
hashtag, stragglers after their pane closed, duplicates and a late post; the
golden signals_burst input through a daemon; and `signals: {enabled: false}`."""
import json
import math
import os
import random
import re
from collections import Counter, defaultdict
from datetime import datetime, timezone

from conftest import SRC, parse_metrics, run, wait_for

GOLDEN = os.path.join(SRC, "tests", "golden", "signals_burst")
SPIKE_FAMILIES = ("earshot_spike_score", "earshot_spike_baseline", "earshot_spike_active",
                  "earshot_spikes_total")

RULES = {  # category -> brand -> single-word terms
    "sneakers": {"nike": ["nike"], "adidas": ["adidas"], "puma": ["puma"]},
    "cola": {"coke": ["coke"], "pepsi": ["pepsi"]},
}
PLATFORMS = ["twitter", "instagram", "reddit"]
DEFAULTS = {"pane": 300_000, "delay": 60_000, "half_life": 6 * 3_600_000, "threshold": 4.0,
            "min_count": 20, "min_history": 12, "top": 10, "capacity": 1000,
            "trending_min_count": 5}
WINDOW = (3_600_000, 60_000)  # the longest window: 1h / 1m
T0 = 1767225600000  # 2026-01-01T00:00:00Z


def rules_yaml():
    out = {}
    for cat, brands in RULES.items():
        y = f"category: {cat}\nbrands:\n"
        for b, terms in brands.items():
            y += f"  - {{name: {b}, terms: [{', '.join(terms)}]}}\n"
        out[cat + ".yaml"] = y
    return out


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---------------------------------------------------------------------------
# A straight implementation of docs/signals.md (with section 5's dedupe and
# late rules), one event at a time.

def matches(text):
    low = text.lower()
    out = []
    for cat, brands in RULES.items():
        for b, terms in brands.items():
            if any(re.search(r"(?<!\w)" + re.escape(t) + r"(?!\w)", low) for t in terms):
                out.append((cat, b))
    return out


def hashtags(text):
    """'#' + a maximal run of word characters, '#' at the start or after a non-word character."""
    return [m.group(0) for m in re.finditer(r"(?<!\w)#\w+", text.lower())]


class Reference:
    def __init__(self, cfg):
        self.c = cfg
        self.a = 1 - 2 ** (-cfg["pane"] / cfg["half_life"])
        self.T = None
        self.dedupe = set()
        self.next_pane = None          # the first pane not closed (None: nothing counted yet)
        self.counts = defaultdict(Counter)       # pane -> (cat, brand, platform) -> x
        self.samples = defaultdict(lambda: defaultdict(list))   # pane -> series -> ids
        self.cat_tags = defaultdict(lambda: defaultdict(Counter))    # pane -> cat -> tag -> x
        self.brand_tags = defaultdict(lambda: defaultdict(Counter))  # pane -> (cat, brand) -> tag -> x
        self.series = {}               # (cat, brand, platform) -> state
        self.kept = defaultdict(dict)  # cat -> tag -> [m, v]
        self.view = {"pane_start": None, "spikes": [], "trending": []}

    @staticmethod
    def z_update(st, x, a):
        z = (x - st[0]) / math.sqrt(st[1] + st[0] + 1)
        d = x - st[0]
        st[0] += a * d
        st[1] = (1 - a) * (st[1] + a * d * d)
        return z

    def close(self, k):
        c, a = self.c, self.a
        counts = self.counts.pop(k, Counter())
        for cat, brands in RULES.items():
            for b in brands:
                per = {p: counts[(cat, b, p)] for p in PLATFORMS}
                per["all"] = sum(per.values())
                for p, x in per.items():
                    key = (cat, b, p)
                    s = self.series.get(key)
                    if s is None:
                        if x == 0:
                            continue
                        s = self.series[key] = {"ew": [0.0, 0.0], "hist": 0, "active": False,
                                                "spikes": 0}
                    m = s["ew"][0]
                    z = self.z_update(s["ew"], x, a)
                    if s["active"]:
                        active = z >= c["threshold"] / 2
                    else:
                        active = (s["hist"] >= c["min_history"] and z >= c["threshold"]
                                  and x >= c["min_count"])
                    if active and not s["active"]:
                        s["spikes"] += 1
                    s.update(active=active, z=z, base=m, x=x)
                    s["hist"] += 1
        trending = []
        pane_tags = self.cat_tags.pop(k, {})
        for cat in sorted(RULES):
            tags = pane_tags.get(cat, Counter())
            kept = self.kept[cat]
            listed = []
            for tag in set(kept) | set(tags):
                st = kept.setdefault(tag, [0.0, 0.0])
                x = tags.get(tag, 0)
                z = self.z_update(st, x, a)
                if x > 0 and x >= c["trending_min_count"]:
                    listed.append({"hashtag": tag, "count": x, "score": z})
            listed.sort(key=lambda h: (-h["score"], h["hashtag"]))
            if len(kept) > c["capacity"]:
                order = sorted(kept, key=lambda t: (-kept[t][0], t))
                for t in order[c["capacity"]:]:
                    del kept[t]
            trending.append({"category": cat, "hashtags": listed[:c["top"]]})
        spikes = []
        brand_tags = self.brand_tags.pop(k, {})
        samples = self.samples.pop(k, {})
        for (cat, b, p), s in self.series.items():
            if not s["active"]:
                continue
            tags = brand_tags.get((cat, b), Counter())
            top = sorted(tags, key=lambda t: (-tags[t], t))[:5]
            if p == "all":
                ids = sorted(i for q in PLATFORMS for i in samples.get((cat, b, q), []))
            else:
                ids = list(samples.get((cat, b, p), []))
            spikes.append({"category": cat, "brand": b, "platform": p, "count": s["x"],
                           "baseline": s["base"], "score": s["z"], "hashtags": top,
                           "samples": [i for _, i in sorted(ids)][:3]})
        self.view = {"pane_start": k * c["pane"], "spikes": spikes, "trending": trending}

    def advance(self):
        c = self.c
        while self.next_pane is not None and (self.next_pane + 1) * c["pane"] + c["delay"] <= self.T:
            self.close(self.next_pane)
            self.next_pane += 1

    def event(self, seq, e):
        t = e["created_at_ms"]
        self.T = t if self.T is None else max(self.T, t)
        self.advance()
        key = (e["platform"], e["id"])
        if key in self.dedupe:
            return
        self.dedupe.add(key)
        size, step = WINDOW
        if t < (self.T // step + 1) * step - size:
            return  # late
        brands = matches(e["text"])
        if not brands:
            return
        k = t // self.c["pane"]
        if (k + 1) * self.c["pane"] + self.c["delay"] <= self.T:
            return  # its pane has closed: a straggler
        if self.next_pane is None or k < self.next_pane:
            self.next_pane = k
        tags = set(hashtags(e["text"]))
        for cat, b in brands:
            self.counts[k][(cat, b, e["platform"])] += 1
            self.samples[k][(cat, b, e["platform"])].append((seq, e["id"]))
            for tag in tags:
                self.brand_tags[k][(cat, b)][tag] += 1
        for cat in {cat for cat, _ in brands}:
            for tag in tags:
                self.cat_tags[k][cat][tag] += 1

    def gauges(self):
        out = {}
        for (cat, b, p), s in self.series.items():
            labels = f'{{brand="{b}",category="{cat}",platform="{p}"}}'
            out["earshot_spike_score" + labels] = s["z"]
            out["earshot_spike_baseline" + labels] = s["base"]
            out["earshot_spike_active" + labels] = 1.0 if s["active"] else 0.0
            out["earshot_spikes_total" + labels] = float(s["spikes"])
        return out


# ---------------------------------------------------------------------------
# The stream

def twelve_hours(seed=3):
    """~16,000 posts over 12 hours: steady brands with hashtags, a nike burst
    at 08:00-08:20, #zerosugar emerging for coke from 09:00, a pepsi burst in
    the last closed panes, stragglers 6-9 minutes late, posts 10-50 s late
    (inside the delay), duplicates and one late post."""
    rng = random.Random(seed)
    rates = {("nike", "twitter"): 4, ("nike", "instagram"): 1.5, ("adidas", "twitter"): 2,
             ("adidas", "reddit"): 0.7, ("puma", "instagram"): 0.5, ("coke", "twitter"): 3,
             ("pepsi", "twitter"): 2, ("pepsi", "reddit"): 0.6}
    common = ["#running", "#sale", "#summer", "#tbt", "#ootd", "#foodie", "#gameday"]
    out = []
    n = 0

    def post(t, platform, text):
        nonlocal n
        n += 1
        out.append({"id": f"s{n}", "platform": platform, "text": text, "created_at_ms": t})

    for minute in range(12 * 60):
        start = T0 + minute * 60_000
        hour = minute / 60
        for (brand, platform), rate in rates.items():
            r = rate
            if brand == "nike" and platform == "twitter" and 8 <= hour < 8 + 1 / 3:
                r = rate * 9  # the burst
            if brand == "pepsi" and platform == "twitter" and minute >= 12 * 60 - 14:
                r = rate * 12  # a burst at the end
            k = int(r) + (1 if rng.random() < r - int(r) else 0)
            for _ in range(k):
                t = start + rng.randrange(60_000)
                words = [brand.capitalize() if rng.random() < 0.3 else brand, "is",
                         rng.choice(["great", "ok", "new", "here", "trending"])]
                if rng.random() < 0.4:
                    words.append(rng.choice(common))
                if brand == "nike" and 8 <= hour < 8 + 1 / 3 and rng.random() < 0.7:
                    words.append("#AirMaxDay")
                if brand == "coke" and hour >= 9 and rng.random() < min(0.9, (hour - 9) / 3 + 0.05):
                    words.append("#ZeroSugar")
                if brand == "pepsi" and minute >= 12 * 60 - 14 and rng.random() < 0.5:
                    words.append("#pepsichallenge")
                rng.shuffle(words)
                post(t, platform, " ".join(words))
        if rng.random() < 0.3:
            post(start + rng.randrange(60_000), "twitter", "nothing to see #tbt")
    out.sort(key=lambda e: e["created_at_ms"])
    # Arrival order: mostly in time order; some posts arrive 10-50 s late
    # (inside the 1-minute delay), some 6-9 minutes late (their pane closed).
    arrivals = []
    for e in out:
        u = rng.random()
        if u < 0.05:
            arrivals.append((e["created_at_ms"] + rng.randrange(10_000, 50_000), e))
        elif u < 0.08:
            arrivals.append((e["created_at_ms"] + rng.randrange(360_000, 540_000), e))
        else:
            arrivals.append((e["created_at_ms"], e))
    arrivals.sort(key=lambda p: p[0])
    stream = [e for _, e in arrivals]
    # Duplicates: some posts again, shortly after.
    for i in sorted(rng.sample(range(100, len(stream)), 300), reverse=True):
        stream.insert(i + rng.randrange(1, 40), dict(stream[i]))
    stream.insert(len(stream) // 2, {"id": "late1", "platform": "twitter", "text": "nike #late",
                                     "created_at_ms": stream[len(stream) // 2]["created_at_ms"] - 3 * 3_600_000})
    return stream


def write_case(tmp_path, events, signals_yaml="", clock="event"):
    (tmp_path / "rules").mkdir(exist_ok=True)
    for name, y in rules_yaml().items():
        (tmp_path / "rules" / name).write_text(y)
    with open(tmp_path / "events.jsonl", "w") as f:
        for e in events:
            f.write(json.dumps({"id": e["id"], "platform": e["platform"], "text": e["text"],
                                "created_at": iso(e["created_at_ms"])}) + "\n")
    (tmp_path / "earshot.yaml").write_text(f"""source:
  type: file
  file: {{paths: [events.jsonl], follow: false}}
rules: {{paths: [rules/], reload: off}}
windows:
  - {{name: 1h, size: 1h, step: 1m}}
clock: {clock}
platforms: [{", ".join(PLATFORMS)}]
http: {{listen: "127.0.0.1:0"}}
{signals_yaml}""")
    return tmp_path / "earshot.yaml"


def spike_series(metrics):
    return {k: v for k, v in metrics.items() if k.split("{")[0] in SPIKE_FAMILIES}


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def assert_same_gauges(got, want):
    assert set(got) == set(want), (sorted(set(got) - set(want)), sorted(set(want) - set(got)))
    for k, v in want.items():
        assert close(got[k], v), (k, got[k], v)


def assert_same_view(got, want):
    assert got["pane_start"] == want["pane_start"]
    key = lambda s: (s["category"], s["brand"], s["platform"])  # noqa: E731
    g = {key(s): s for s in got["spikes"]}
    w = {key(s): s for s in want["spikes"]}
    assert set(g) == set(w), (sorted(g), sorted(w))
    for k, s in w.items():
        assert g[k]["count"] == s["count"], k
        assert close(g[k]["baseline"], s["baseline"]) and close(g[k]["score"], s["score"]), k
        assert g[k]["hashtags"] == s["hashtags"], (k, g[k]["hashtags"], s["hashtags"])
        assert g[k]["samples"] == s["samples"], (k, g[k]["samples"], s["samples"])
    scores = [s["score"] for s in got["spikes"]]
    assert scores == sorted(scores, reverse=True)
    assert [t["category"] for t in got["trending"]] == [t["category"] for t in want["trending"]]
    for gt, wt in zip(got["trending"], want["trending"]):
        assert [(h["hashtag"], h["count"]) for h in gt["hashtags"]] == \
            [(h["hashtag"], h["count"]) for h in wt["hashtags"]], gt["category"]
        for gh, wh in zip(gt["hashtags"], wt["hashtags"]):
            assert close(gh["score"], wh["score"]), (gt["category"], gh, wh)


def test_replay_and_daemon_equal_a_straight_implementation(tmp_path, daemon_factory):
    events = twelve_hours()
    ref = Reference(DEFAULTS)
    for seq, e in enumerate(events):
        ref.event(seq, e)
    want = ref.gauges()
    # The stream has what it should: a raised nike spike, an active pepsi
    # one at the end (#pepsichallenge), #zerosugar trending in cola.
    assert want['earshot_spikes_total{brand="nike",category="sneakers",platform="twitter"}'] == 1
    assert any(s["brand"] == "pepsi" for s in ref.view["spikes"]), ref.view["spikes"]
    cola = next(t for t in ref.view["trending"] if t["category"] == "cola")
    assert "#zerosugar" in [h["hashtag"] for h in cola["hashtags"]], cola

    cfg = write_case(tmp_path, events)
    r = run("replay", "--config", str(cfg), timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    replayed = spike_series(parse_metrics(r.stdout.decode()))
    assert_same_gauges(replayed, want)

    d = daemon_factory(cfg.read_text())
    total = len(events)
    wait_for(lambda: sum(v for k, v in d.metrics().items()
                         if k.startswith("earshot_events_total{")) == total,
             timeout=60, what="every event processed")
    status, body = d.get("/api/v1/signals")
    assert status == 200, body
    assert_same_view(json.loads(body), ref.view)
    # The daemon's series are the replay's, to the digit.
    assert spike_series(d.metrics()) == replayed


def test_golden_input_through_the_daemon_api(tmp_path, daemon_factory):
    """tests/golden/signals_burst (README there): the spike's cause and the
    emerging hashtag, which the exposition cannot show."""
    cfg = open(os.path.join(GOLDEN, "config.yaml")).read()
    text = cfg + f"""source:
  type: file
  file: {{paths: [{os.path.join(GOLDEN, "input.jsonl")}], follow: false}}
rules: {{paths: [{os.path.join(GOLDEN, "rules")}], reload: off}}
clock: event
http: {{listen: "127.0.0.1:0"}}
"""
    d = daemon_factory(text)
    pane4 = 1767261840000  # 2026-01-01T10:04:00Z

    def view():
        status, body = d.get("/api/v1/signals")
        assert status == 200, body
        v = json.loads(body)
        return v if v["pane_start"] == pane4 and d.metric(
            'earshot_events_total{outcome="matched",source="file"}') == 34 else None

    v = wait_for(view, what="pane 10:04 closed")
    spikes = [(s["brand"], s["platform"], s["count"]) for s in v["spikes"]]
    assert spikes == [("nike", "all", 17), ("nike", "twitter", 12)]
    s = v["spikes"][0]
    assert s["baseline"] == 1.875 and close(s["score"], 15.125 / math.sqrt(3.109375))
    assert s["hashtags"] == ["#airmaxday", "#running"]
    assert s["samples"] == ["p13", "p14", "p15"]
    trending = {t["category"]: t["hashtags"] for t in v["trending"]}
    assert trending["cola"] == []
    assert [(h["hashtag"], h["count"]) for h in trending["sneakers"]] == [("#airmaxday", 16), ("#running", 4)]
    assert trending["sneakers"][0]["score"] == 16
    assert close(trending["sneakers"][1]["score"], 3.0625 / math.sqrt(1.99609375))
    # The same numbers as the golden exposition.
    expected = spike_series(parse_metrics(open(os.path.join(GOLDEN, "expected.prom")).read()))
    assert spike_series(d.metrics()) == expected


def test_signals_off(tmp_path, daemon_factory):
    events = [{"id": f"x{i}", "platform": "twitter", "text": "nike", "created_at_ms": T0 + i * 60_000}
              for i in range(30)]
    cfg = write_case(tmp_path, events, signals_yaml="signals: {enabled: false}\n")
    d = daemon_factory(cfg.read_text())
    wait_for(lambda: d.metric('earshot_events_total{outcome="matched",source="file"}') == 30,
             what="events counted")
    status, body = d.get("/api/v1/signals")
    assert status == 404 and "signals are off" in json.loads(body)["error"]
    assert not spike_series(d.metrics())
    r = run("replay", "--config", str(cfg))
    assert r.returncode == 0 and b"earshot_spike" not in r.stdout
    # On by default: the same input has spike series.
    cfg.write_text(cfg.read_text().replace("signals: {enabled: false}\n", ""))
    r = run("replay", "--config", str(cfg))
    assert b'earshot_spike_score{category="sneakers",brand="nike",platform="all"}' in r.stdout
