"""Audience (docs/audience.md): unique authors in `earshot replay` against
exact counts on a Zipf-like author stream, and the daemon's
/api/v1/top-authors and /api/v1/unique-authors against the exact answers."""
import bisect
import json
import random
import time
import urllib.parse
from collections import defaultdict

from conftest import labels_of, parse_metrics, run, wait_for

CATEGORIES = {"sneakers": ["nike", "adidas", "puma", "reebok"], "cola": ["coke", "pepsi"]}
PLATFORMS = ["twitter", "instagram", "reddit", "tiktok"]
WINDOWS = {"5m": (300_000, 10_000), "1h": (3_600_000, 60_000), "24h": (86_400_000, 900_000)}


def write_rules(d):
    d.mkdir(exist_ok=True)
    for category, brands in CATEGORIES.items():
        body = f"category: {category}\nbrands:\n" + "".join(
            f"  - name: {b}\n    terms: [{b}]\n" for b in brands)
        (d / f"{category}.yaml").write_text(body)


class Zipf:
    """Ranks 0..n-1 with weight 1 / (rank + 1) ** s."""

    def __init__(self, n, s, rng):
        self.rng, self.cdf, total = rng, [], 0.0
        for r in range(n):
            total += 1.0 / (r + 1) ** s
            self.cdf.append(total)

    def __call__(self):
        return bisect.bisect_left(self.cdf, self.rng.random() * self.cdf[-1])


def stream(n, start_ms, span_ms, seed, authors=30000):
    """Events in time order with Zipf-like authors and brands, a few
    duplicates (another author: must not count) and authorless events."""
    rng = random.Random(seed)
    author = Zipf(authors, 1.05, rng)
    brands = [(c, b) for c, bs in CATEGORIES.items() for b in bs]
    brand = Zipf(len(brands), 0.8, rng)
    events, seen = [], []
    for i in range(n):
        t = start_ms + i * span_ms // n
        if seen and rng.random() < 0.01:
            eid, platform = rng.choice(seen[-100:])  # a duplicate
        else:
            eid, platform = f"e{i}", rng.choice(PLATFORMS)
            seen.append((eid, platform))
        named = {brands[brand()][1] for _ in range(rng.choice((1, 1, 2)))}
        e = {"id": eid, "platform": platform, "text": " and ".join(sorted(named)), "created_at": t}
        a = author()
        if rng.random() < 0.03:
            e["author"] = {"followers": 1}
        else:
            e["author"] = {"id": f"user-{a}", "handle": f"@u{a}", "followers": rng.randrange(10**6)}
        events.append(e)
    return events


def counted(events):
    """The events the windows count: first of each (platform, id)."""
    seen, out = set(), []
    for e in events:
        key = (e["platform"], e["id"])
        if key in seen:
            continue
        seen.add(key)
        out.append(e)
    return out


def window_start(t, size, step):
    return (t // step) * step + step - size


def test_replay_unique_authors_within_three_standard_errors(tmp_path):
    write_rules(tmp_path / "rules")
    start = 1767225600000
    events = stream(60000, start, 2 * 3600 * 1000, seed=15)
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (tmp_path / "c.yaml").write_text(f"platforms: [{', '.join(PLATFORMS)}]\n")
    r = run("replay", "--config", str(tmp_path / "c.yaml"), "--rules", str(tmp_path / "rules"),
            str(tmp_path / "in.jsonl"), timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    got = {k: v for k, v in parse_metrics(r.stdout.decode()).items()
           if k.startswith("earshot_window_unique_authors{")}

    T = max(e["created_at"] for e in events)
    exact = defaultdict(set)
    for e in counted(events):
        aid = e["author"].get("id")
        if not aid:
            continue
        for word in e["text"].split(" and "):
            category = next(c for c, bs in CATEGORIES.items() if word in bs)
            for w, (size, step) in WINDOWS.items():
                if e["created_at"] >= window_start(T, size, step):
                    for p in (e["platform"], "all"):
                        exact[(w, category, word, p)].add(aid)
    errors, checked = [], 0
    for (w, category, brand, p), authors in exact.items():
        key = (f'earshot_window_unique_authors{{brand="{brand}",category="{category}",'
               f'platform="{p}",window="{w}"}}')
        assert key in got, key
        n = len(authors)
        err = (got[key] - n) / n
        errors.append((abs(err), err, n, key))
        checked += 1
        assert abs(err) <= 0.06, f"{key}: {got[key]} vs exact {n}"
    # Every exported series with no author in it is 0.
    for key, v in got.items():
        labels = labels_of(key)
        k = tuple(labels[x] for x in ("window", "category", "brand", "platform"))
        if k not in exact:
            assert v == 0, key
    errors.sort(reverse=True)
    big = [e for e in errors if e[2] > 4096]
    print(f"\n{checked} series checked; exact sizes {min(e[2] for e in errors)}.."
          f"{max(e[2] for e in errors)}; {len(big)} past the sparse range (> 4096 authors)")
    print("largest relative errors:", ", ".join(f"{e[1]:+.3%} (n={e[2]})" for e in errors[:5]))
    if big:
        rms = (sum(e[1] ** 2 for e in big) / len(big)) ** 0.5
        print(f"dense-range rms {rms:.3%}")
    assert big, "the stream should reach the dense range"
    assert checked == 6 * 5 * 3  # brands x (platforms + all) x windows


def test_daemon_top_authors_and_unique_authors_are_exact(tmp_path, daemon_factory):
    write_rules(tmp_path / "rules")
    rng = random.Random(7)
    author = Zipf(300, 1.1, rng)
    now = int(time.time() * 1000)
    events = []
    for i in range(3000):
        a = author()
        words = rng.sample(["nike", "adidas", "puma", "coke"], rng.choice((1, 1, 2)))
        events.append({"id": f"d{i}", "platform": rng.choice(PLATFORMS), "text": " ".join(words),
                       "created_at": now - 100_000 + i * 30,
                       "author": {"id": f"a{a:03d}", "handle": f"@h{a}",
                                  "followers": rng.randrange(5000)}})
    # A 300-byte id (shown cut to 256 bytes) and an author without a handle.
    long_id = "L" * 300
    events.append({"id": "long", "platform": "twitter", "text": "puma", "created_at": now - 1000,
                   "author": {"id": long_id, "followers": 10**7}})
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    d = daemon_factory(f"""source:
  type: file
  file: {{paths: [events.jsonl], follow: true}}
rules: {{paths: [rules/], reload: off}}
platforms: [{", ".join(PLATFORMS)}]
http: {{listen: "127.0.0.1:0"}}
audience: {{top_authors_capacity: 1000, hll_precision: 14}}
""")
    wait_for(lambda: sum(v for k, v in d.metrics().items()
                         if k.startswith("earshot_events_total{")) == len(events),
             what="every event counted")

    def api(path, **params):
        status, body = d.get(path + "?" + urllib.parse.urlencode(params))
        return status, json.loads(body)

    per_brand = defaultdict(list)  # brand -> events in time order
    for e in events:
        for w in e["text"].split():
            per_brand[w].append(e)
    for brand, evs in per_brand.items():
        category = next(c for c, bs in CATEGORIES.items() if brand in bs)
        mentions, latest, handle = defaultdict(int), {}, {}
        for e in evs:
            a = e["author"]
            mentions[a["id"]] += 1
            latest[a["id"]] = a["followers"]  # in time order: the last is the latest
            handle[a["id"]] = a.get("handle")
        want = {
            "mentions": sorted(mentions, key=lambda a: (-mentions[a], a))[:10],
            "reach": sorted(latest, key=lambda a: (-latest[a], a))[:10],
        }
        for window in WINDOWS:
            for by, ids in want.items():
                status, body = api("/api/v1/top-authors", category=category, brand=brand,
                                   window=window, by=by)
                assert status == 200, body
                assert [x["id"] for x in body["authors"]] == [a[:256] for a in ids], (brand, by)
                for x, a in zip(body["authors"], ids):
                    assert x == {"id": a[:256], "handle": handle[a], "mentions": mentions[a],
                                 "followers": latest[a]}, (brand, window, by)
            status, body = api("/api/v1/unique-authors", window=window)
            assert status == 200, body
            (cat,) = [c for c in body["categories"] if c["category"] == category]
            (b,) = [x for x in cat["brands"] if x["brand"] == brand]
            assert b["unique_authors"] == len(mentions), (brand, window)
    # The long id leads puma by reach, cut to 256 bytes, without a handle.
    status, body = api("/api/v1/top-authors", category="sneakers", brand="puma", by="reach")
    assert body["authors"][0] == {"id": "L" * 256, "handle": None, "mentions": 1,
                                  "followers": 10**7}
    # The series in /metrics agree with the API.
    m = d.metrics()
    assert m['earshot_window_unique_authors{brand="nike",category="sneakers",platform="all",'
             'window="1h"}'] == len({e["author"]["id"] for e in per_brand["nike"]})
    # Bad parameters: 400 with a JSON error naming the problem.
    for params, what in [({"category": "sneakers", "brand": "nike", "window": "7d"}, "window"),
                         ({"category": "sneakers", "brand": "nike", "by": "likes"}, "by"),
                         ({"category": "sneakers", "brand": "asics"}, "brand"),
                         ({"brand": "nike"}, "required"),
                         ({"category": "sneakers\n\xff", "brand": "nike"}, "brand")]:
        status, body = api("/api/v1/top-authors", **params)
        assert status == 400 and what in body["error"], (params, body)
    status, body = api("/api/v1/unique-authors", platform="myspace")
    assert status == 400 and "platform" in body["error"]


def test_audience_config_errors_are_compiler_style(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("audience:\n  enabled: true\n  top_authors_capacity: 3\n  hll_precison: 12\n")
    r = run("check", "--config", str(cfg))
    assert r.returncode == 1
    err = r.stderr.decode()
    assert f"{cfg}:3:25: audience.top_authors_capacity: must be between 10 and 1000000" in err, err
    assert f'{cfg}:4:3: unknown key "hll_precison" (did you mean "hll_precision"?)' in err, err
