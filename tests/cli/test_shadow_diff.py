"""`earshot diff` (docs/shadow.md): per brand of either set, the live and
candidate mentions and the events added and removed, checked against an
independent computation of section 10 and against `earshot replay`; exit
status 0 / 1 / 2 like diff(1); `earshot check` validates the candidate."""
import json
import random
import re

from conftest import parse_metrics, run

LIVE = {
    "sneakers.yaml": """category: sneakers
brands:
  - name: nike
    terms: [nike, "air max"]
  - name: adidas
    terms: [adidas]
  - name: puma
    terms: [puma]
""",
    "drinks.yaml": """category: drinks
brands:
  - name: cola
    terms: [cola]
  - name: fanta
    terms: [fanta]
""",
}

# Each candidate is the live set with one edit (the list), as
# {file: text}; the reference model of each set is below.
CANDIDATES = {
    "term_dropped": {**LIVE, "sneakers.yaml": LIVE["sneakers.yaml"].replace(', "air max"', "")},
    "term_added": {**LIVE, "sneakers.yaml": LIVE["sneakers.yaml"].replace(
        "terms: [adidas]", 'terms: [adidas, "three stripes"]')},
    "exclude_added": {**LIVE, "sneakers.yaml": LIVE["sneakers.yaml"].replace(
        '    terms: [nike, "air max"]\n', '    terms: [nike, "air max"]\n    exclude: [missile]\n')},
    "brand_removed": {**LIVE, "drinks.yaml": "category: drinks\nbrands:\n  - name: cola\n"
                                             "    terms: [cola]\n"},
    "brand_added": {**LIVE, "drinks.yaml": LIVE["drinks.yaml"] + "  - name: sprite\n"
                                                                 "    terms: [sprite]\n"},
    "brand_moved": {"sneakers.yaml": "category: sneakers\nbrands:\n  - name: nike\n"
                                     "    terms: [nike, \"air max\"]\n  - name: adidas\n"
                                     "    terms: [adidas]\n",
                    "running.yaml": "category: running\nbrands:\n  - name: puma\n"
                                    "    terms: [puma]\n",
                    "drinks.yaml": LIVE["drinks.yaml"]},
    "identical": dict(LIVE),
}

# The reference model: (category, brand) -> (terms, excludes); plain ASCII
# words and phrases, matched case-insensitively at word boundaries.
MODEL_LIVE = {("sneakers", "nike"): (["nike", "air max"], []), ("sneakers", "adidas"): (["adidas"], []),
              ("sneakers", "puma"): (["puma"], []), ("drinks", "cola"): (["cola"], []),
              ("drinks", "fanta"): (["fanta"], [])}
MODELS = {
    "term_dropped": {**MODEL_LIVE, ("sneakers", "nike"): (["nike"], [])},
    "term_added": {**MODEL_LIVE, ("sneakers", "adidas"): (["adidas", "three stripes"], [])},
    "exclude_added": {**MODEL_LIVE, ("sneakers", "nike"): (["nike", "air max"], ["missile"])},
    "brand_removed": {k: v for k, v in MODEL_LIVE.items() if k != ("drinks", "fanta")},
    "brand_added": {**MODEL_LIVE, ("drinks", "sprite"): (["sprite"], [])},
    "brand_moved": {**{k: v for k, v in MODEL_LIVE.items() if k != ("sneakers", "puma")},
                    ("running", "puma"): (["puma"], [])},
    "identical": dict(MODEL_LIVE),
}

WORDS = ["nike", "Air Max", "adidas", "three stripes", "puma", "missile", "cola", "fanta",
         "sprite", "shoes", "run", "price", "nikelab", "airmax", "the", "and", "#nike"]


def write_rules(dir_, files):
    dir_.mkdir(exist_ok=True)
    for name, text in files.items():
        (dir_ / name).write_text(text)
    return str(dir_)


def make_events(path, n=600, seed=7):
    """Events over ~17 h of event time with duplicates (the same line again),
    invalid lines and late events (three days old: counted in the totals, in
    no window); returns the valid ones (id, platform, text) in order,
    duplicates included."""
    rnd = random.Random(seed)
    base = 1767225600000
    lines, events, recent = [], [], []
    for i in range(n):
        if i % 97 == 13:
            lines.append("{not json")
            continue
        if recent and i % 41 == 7:
            line, e = rnd.choice(recent)
            lines.append(line)
            events.append(e)
            continue
        text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 5)))
        e = (f"e{i}", rnd.choice(["twitter", "instagram", "reddit", "x", "mastodon"]), text)
        late = i % 50 == 30
        line = json.dumps({"id": e[0], "platform": e[1], "text": e[2],
                           "created_at": base + (-3 * 86400000 if late else i * 100000)})
        lines.append(line)
        events.append(e)
        if not late:
            recent.append((line, e))
    path.write_text("\n".join(lines) + "\n")
    return events


def fires(model, text):
    out = set()
    for key, (terms, excludes) in model.items():
        def has(t):
            return re.search(r"(?<![\w])" + re.escape(t).replace(r"\ ", r"\W+") + r"(?![\w])",
                             text, re.I) is not None
        if any(has(t) for t in terms) and not any(has(t) for t in excludes):
            out.add(key)
    return out


def reference(events, live, cand):
    """docs/shadow.md by hand: every brand of either set, with its
    mentions over the input (dedupe by (platform, id), platform aliases
    folded) and the events added and removed."""
    rows = {k: {"live": 0, "candidate": 0, "added": 0, "removed": 0} for k in {**live, **cand}}
    seen = set()
    for id_, platform, text in events:
        key = ({"x": "twitter"}.get(platform, platform), id_)
        if key in seen:
            continue
        seen.add(key)
        a, b = fires(live, text), fires(cand, text)
        for k in a:
            rows[k]["live"] += 1
        for k in b:
            rows[k]["candidate"] += 1
        for k in b - a:
            rows[k]["added"] += 1
        for k in a - b:
            rows[k]["removed"] += 1
    return [{"category": c, "brand": b, **v} for (c, b), v in sorted(rows.items())]


def diff(*args, input=None):
    r = run("diff", *map(str, args), input=input)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_every_edit_agrees_with_an_independent_replay(tmp_path):
    events_path = tmp_path / "events.jsonl"
    events = make_events(events_path)
    live = write_rules(tmp_path / "live", LIVE)
    replay_live = parse_metrics(run("replay", "--rules", live, str(events_path)).stdout.decode())
    for name, files in CANDIDATES.items():
        cand = write_rules(tmp_path / name, files)
        rc, out, err = diff("--rules", live, "--candidate", cand, "--json", events_path)
        doc = json.loads(out)
        want = reference(events, MODEL_LIVE, MODELS[name])
        assert doc["brands"] == want, name
        changed = any(r["added"] or r["removed"] for r in want)
        assert rc == (1 if changed else 0), (name, err)
        assert changed == (name != "identical")
        # live and candidate are what earshot_mentions_total counts.
        replay_cand = parse_metrics(run("replay", "--rules", cand, str(events_path)).stdout.decode())
        for row in doc["brands"]:
            for side, m in (("live", replay_live), ("candidate", replay_cand)):
                total = sum(v for k, v in m.items() if k.startswith("earshot_mentions_total{")
                            and f'brand="{row["brand"]}"' in k
                            and f'category="{row["category"]}"' in k)
                assert row[side] == total, (name, side, row)
        # Samples: at most 3 per brand and change, each a changed event of it.
        per = {}
        for s in doc["samples"]:
            per[(s["category"], s["brand"], s["change"])] = per.get(
                (s["category"], s["brand"], s["change"]), 0) + 1
            assert set(s) == {"category", "brand", "change", "id", "platform", "time", "text", "fired"}
            assert s["fired"], s
        assert all(n <= 3 for n in per.values()), per
        for row in doc["brands"]:
            for change in ("added", "removed"):
                assert per.get((row["category"], row["brand"], change), 0) == min(3, row[change])


def test_the_text_report_names_each_changed_brand(tmp_path):
    events_path = tmp_path / "events.jsonl"
    make_events(events_path)
    live = write_rules(tmp_path / "live", LIVE)
    cand = write_rules(tmp_path / "cand", CANDIDATES["exclude_added"])
    rc, out, err = diff("--rules", live, "--candidate", cand, events_path)
    assert rc == 1, err
    lines = out.splitlines()
    head = [l for l in lines if l.startswith("sneakers/nike:")]
    assert len(head) == 1 and "share of voice 24h" in head[0] and " -> " in head[0], out
    assert re.search(r"live (\d+), candidate (\d+) \(\+0 -(\d+)\)", head[0]), head[0]
    samples = [l for l in lines if l.startswith("  - ")]
    assert 1 <= len(samples) <= 3 and all("missile" in l.lower() for l in samples), out
    assert not any(l.startswith("drinks/") for l in lines), out  # unchanged brands are left out
    assert lines[-1].startswith("1 of 5 brands changed"), lines[-1]

    rc, out, _ = diff("--rules", live, "--candidate", live, events_path)
    assert rc == 0 and out.startswith("no difference: 5 brands"), out


def test_stdin_and_config_inputs(tmp_path):
    events_path = tmp_path / "events.jsonl"
    make_events(events_path, n=100)
    live = write_rules(tmp_path / "live", LIVE)
    cand = write_rules(tmp_path / "cand", CANDIDATES["brand_added"])
    rc1, out1, _ = diff("--rules", live, "--candidate", cand, "--json", "-",
                        input=events_path.read_bytes())
    cfg = tmp_path / "earshot.yaml"
    cfg.write_text(f"source: {{type: file, file: {{paths: [{events_path}]}}}}\n"
                   f"rules: {{paths: [{live}]}}\nshadow: {{paths: [{cand}]}}\n")
    rc2, out2, err = diff("--config", cfg, "--json")
    assert (rc1, rc2) == (1, 1), err
    assert json.loads(out1)["brands"] == json.loads(out2)["brands"]


def test_errors_exit_2(tmp_path):
    events_path = tmp_path / "events.jsonl"
    make_events(events_path, n=20)
    live = write_rules(tmp_path / "live", LIVE)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "b.yaml").write_text("category: c\nbrands:\n  - name: a\n    term: [a]\n")
    rc, out, err = diff("--rules", live, "--candidate", broken, events_path)
    assert rc == 2 and out == ""
    assert f'{broken / "b.yaml"}:4:5: unknown key "term"' in err, err
    rc, _, err = diff("--rules", tmp_path / "missing", "--candidate", live, events_path)
    assert rc == 2 and "missing" in err, err
    rc, _, err = diff("--rules", live, "--candidate", live, tmp_path / "no-such.jsonl")
    assert rc == 2 and "no-such.jsonl" in err, err
    rc, _, err = diff("--rules", live, events_path)
    assert rc == 2 and "--candidate" in err, err
    rc, _, err = diff("--rules", live, "--candidate", live, "--since", "24h", events_path)
    assert rc == 2 and "Kafka" in err, err
    rc, _, _ = diff("--rules", live, "--candidate", live, "--bogus", events_path)
    assert rc == 2


def test_check_validates_the_candidate_too(tmp_path):
    live = write_rules(tmp_path / "live", LIVE)
    cand = tmp_path / "cand"
    cand.mkdir()
    (cand / "c.yaml").write_text(LIVE["sneakers.yaml"])
    cfg = tmp_path / "earshot.yaml"
    cfg.write_text(f"rules: {{paths: [{live}]}}\nshadow: {{paths: [{cand}], reload: signal}}\n")
    r = run("check", "--config", str(cfg))
    assert r.returncode == 0, r.stderr.decode()
    assert b"shadow rules" in r.stdout
    (cand / "c.yaml").write_text("category: c\nbrands:\n  - name: a\n    terms: [a\n")
    r = run("check", "--config", str(cfg))
    assert r.returncode == 1
    assert f'{cand / "c.yaml"}:' in r.stderr.decode(), r.stderr.decode()
