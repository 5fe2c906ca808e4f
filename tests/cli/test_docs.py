"""The docs cover what the code does (issue 17): every metric family the
binary exports is in docs/metrics.md, every config key the parser accepts is
in docs/config.md with its default, every CLI command and flag of the usage
text is in docs/cli.md, and the query operators and the Arabic proclitics are
in docs/matching.md or docs/rules.md. The truth comes from the code, not from
a list kept here: metric names from the exposition of a replay and of a
running daemon with every feature on (and the `"earshot_..."` names in the
sources, for the families only a Kafka source registers), config keys from
the parser's declared schema (tests/tools/earshot_config_keys.cc), commands
and flags from `earshot help`. Also: no page of docs/ or the README points
outside the repository, and every page of docs/ is linked from
docs/README.md.

A failure names what is missing and where it belongs."""
import glob
import json
import os
import re
import subprocess

from conftest import BIN, SRC, Daemon, parse_metrics, run, wait_for

DOCS = os.path.join(SRC, "docs")
BUILD = os.environ.get("EARSHOT_BUILD_DIR", "build")
T0 = 1767225600000  # 2026-01-01T00:00:00Z


def read(*parts):
    with open(os.path.join(SRC, *parts), encoding="utf-8") as f:
        return f.read()


def code_spans(text):
    """The contents of the fenced code blocks and `inline code` of a page."""
    spans = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    spans += re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", text, flags=re.M | re.S))
    return spans


def in_code(name, text):
    """`name` is written as code on the page, as a whole name: `name`,
    `name{...}`, `--kafka BROKERS --topic T`, `signals.pane: 5m`."""
    pattern = re.compile(r"(?<![A-Za-z0-9_.-])" + re.escape(name) + r"(?![A-Za-z0-9_\[\]-])")
    return any(pattern.search(s) for s in code_spans(text))


# ---------------------------------------------------------------------------
# Metric families, from what the binary exports.

LIVE_RULES = """category: sneakers
brands:
  - name: nike
    terms: [nike, "#nike", نايكي]
  - name: adidas
    query: 'adidas AND NOT hiring'
topics:
  - name: pricing
    terms: [price, cheap]
"""
CANDIDATE_RULES = """category: sneakers
brands:
  - name: nike
    terms: [nike, swoosh]
  - name: adidas
    terms: [adidas]
"""
CONFIG = """windows:
  - {name: 5m, size: 5m, step: 10s}
platforms: [twitter, instagram]
rules: {paths: [rules/], reload: off}
shadow: {paths: [candidate/], reload: off}
signals: {pane: 1m, delay: 1s, min_history: 1, min_count: 1, threshold: 1,
          trending: {top: 3, capacity: 10, min_count: 1}}
"""


def events():
    """Every outcome: matched (brands, topics, sentiment, a hashtag),
    unmatched, duplicate, late, invalid; spanning several signals panes."""
    out = []
    for i in range(40):
        t = T0 + i * 15_000
        text = ["I love my new nike shoes #nike", "adidas is cheap and great",
                "nothing to see", "nike price is terrible", "adidas is hiring, swoosh"][i % 5]
        out.append(json.dumps({"id": str(i), "platform": ["twitter", "instagram"][i % 2],
                               "text": text, "created_at": t,
                               "author": {"id": f"a{i % 7}", "handle": f"h{i % 7}",
                                          "followers": 10 * i},
                               "engagement": {"likes": i, "shares": 1, "comments": 2,
                                              "views": 100}}))
    out.append(out[3])  # a duplicate
    out.append(json.dumps({"id": "late", "platform": "twitter", "text": "nike",
                           "created_at": T0 - 3_600_000}))
    out.append("{not json")
    out.append(json.dumps({"id": "x", "platform": "twitter"}))
    return "\n".join(out) + "\n"


def families(exposition):
    return set(re.findall(r"^# TYPE (\S+) ", exposition, re.M))


def write_setup(tmp_path, extra_config=""):
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "sneakers.yaml").write_text(LIVE_RULES)
    (tmp_path / "candidate").mkdir(exist_ok=True)
    (tmp_path / "candidate" / "sneakers.yaml").write_text(CANDIDATE_RULES)
    (tmp_path / "input.jsonl").write_text(events())
    cfg = tmp_path / "earshot.yaml"
    cfg.write_text(CONFIG + extra_config)
    return cfg


def source_metric_names():
    """`"earshot_..."` string literals in the non-test sources: the families a
    Kafka source or a dead-letter topic registers, which no replay shows."""
    names = set()
    for d in ("base", "rules", "pipeline", "connectors", "cmd"):
        for path in glob.glob(os.path.join(SRC, d, "**", "*.*"), recursive=True):
            if not path.endswith((".cc", ".h")):
                continue
            with open(path, encoding="utf-8") as f:
                names.update(re.findall(r'"(earshot_[a-z0-9_]*[a-z0-9])"', f.read()))
    return names


def test_every_metric_family_is_in_metrics_md(tmp_path):
    cfg = write_setup(tmp_path)
    r = run("replay", "--config", str(cfg), str(tmp_path / "input.jsonl"))
    assert r.returncode == 0, r.stderr.decode()
    replayed = families(r.stdout.decode())
    # The features this test relies on must have shown up, or the check below
    # proves nothing.
    for must in ("earshot_events_total", "earshot_share_of_voice_ratio",
                 "earshot_shadow_changed_total", "earshot_spike_score",
                 "earshot_sentiment_mentions_total", "earshot_topic_mentions_total"):
        assert must in replayed, f"the replay did not export {must}: the test setup is broken"

    # A daemon serving HTTP registers what a replay does not.
    daemon_dir = tmp_path / "daemon"
    daemon_dir.mkdir()
    dcfg = write_setup(daemon_dir, "source: {type: file, file: {paths: [input.jsonl]}}\n"
                                   "http: {listen: \"127.0.0.1:0\"}\n")
    d = Daemon(str(dcfg), str(daemon_dir))
    try:
        lines = events().count("\n")
        wait_for(lambda: sum(v for k, v in d.metrics().items()
                             if k.startswith("earshot_events_total{")) >= lines,
                 what="the daemon to count every input line")
        status, body = d.get("/metrics")
        assert status == 200
        served = families(body)
    finally:
        d.proc.terminate()
        d.proc.wait(timeout=30)

    from_sources = source_metric_names()
    doc = read("docs", "metrics.md")
    missing = sorted(n for n in replayed | served | from_sources if not in_code(n, doc))
    assert not missing, (
        "metric families exported by earshot but not documented in docs/metrics.md "
        "(add a row with type, labels and meaning): " + ", ".join(missing))


# ---------------------------------------------------------------------------
# Config keys, from the parser's declared schema.

def config_keys():
    tool = os.path.join(BUILD, "tests", "earshot-config-keys")
    assert os.path.exists(tool), f"{tool} is not built (ninja -C build earshot-config-keys)"
    out = subprocess.run([tool], capture_output=True, check=True, text=True).stdout
    keys = []
    for line in out.splitlines():
        key, kind, default = line.split("\t")
        keys.append((key, kind == "section", default))
    assert len(keys) > 40, "the key schema looks empty"
    return keys


def config_rows(doc):
    """| `key` | default | meaning | rows of docs/config.md: key -> default cell."""
    rows = {}
    for line in doc.splitlines():
        m = re.match(r"^\|\s*`([^`]+)`\s*\|\s*(.*?)\s*\|", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_every_config_key_is_in_config_md_with_its_default():
    doc = read("docs", "config.md")
    rows = config_rows(doc)
    missing, wrong = [], []
    for key, section, default in config_keys():
        if section:
            if not in_code(key, doc):
                missing.append(key + " (section)")
            continue
        if key not in rows:
            missing.append(key)
        elif default and rows[key].replace("`", "") != default:
            wrong.append(f"{key}: the docs say {rows[key]!r}, the code's default is {default!r}")
    assert not missing, ("config keys accepted by pipeline/config.cc but missing from "
                         "docs/config.md (add a row `| `key` | `default` | meaning |`): " +
                         ", ".join(missing))
    assert not wrong, "docs/config.md gives wrong defaults:\n" + "\n".join(wrong)


def test_config_cc_declares_every_key_it_accepts():
    """A key list written straight into a CheckKeys call escapes the schema,
    and so this test: the parser's lists must come from ConfigKeysIn."""
    src = read("pipeline", "config.cc")
    literal = re.findall(r"CheckKeys\(\s*\w+\s*,\s*\{([^}]*)\}", src)
    doc = read("docs", "config.md")
    names = [n for group in literal for n in re.findall(r'"([^"]+)"', group)]
    undocumented = [n for n in names if n not in doc]
    assert not literal, (
        "pipeline/config.cc passes CheckKeys a literal key list (" + ", ".join(names) + "): "
        "declare those keys in kConfigKeys (pipeline/config.cc) and pass ConfigKeysIn(section), "
        "so that docs/config.md is checked against them" +
        ("; not in docs/config.md either: " + ", ".join(undocumented) if undocumented else ""))


# ---------------------------------------------------------------------------
# The CLI, from its own usage text.

def usage():
    r = run("help")
    assert r.returncode == 0
    return r.stdout.decode()


def test_every_command_and_flag_is_in_cli_md():
    text = usage()
    commands = re.findall(r"^  ([a-z]+)\s", text, re.M)
    assert {"run", "replay", "check", "test", "explain", "diff", "generate", "version"} <= \
        set(commands), f"unexpected usage text:\n{text}"
    flags = set(re.findall(r"--[a-z][a-z0-9-]*", text))
    doc = read("docs", "cli.md")
    missing = [f"earshot {c}" for c in commands if f"earshot {c}" not in doc]
    missing += [f for f in sorted(flags) if not in_code(f, doc)]
    assert not missing, ("in `earshot help` but not in docs/cli.md: " + ", ".join(missing))


def test_exit_codes_are_documented():
    doc = read("docs", "cli.md")
    assert re.search(r"[Ee]xit (status|code)", doc), "docs/cli.md has no exit status section"


# ---------------------------------------------------------------------------
# The query language and the Arabic proclitics.

OPERATORS = ["AND", "OR", "NOT", "NEAR/n", "NEAR/nf", "lang:", "platform:", "author:",
             "country:", "raw:", "regex:"]
PROCLITICS = ["و", "ال", "وال", "بال", "كال", "فال", "لل"]


def test_query_operators_and_proclitics_are_documented():
    doc = read("docs", "matching.md") + read("docs", "rules.md")
    missing = [op for op in OPERATORS if f"`{op}" not in doc]
    missing += [f"proclitic {p}" for p in PROCLITICS if f"`{p}`" not in doc]
    for phrase in ("arabic_proclitics", "is only an Arabic proclitic", "NFKC",
                   "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar", "Han"):
        if phrase not in doc:
            missing.append(phrase)
    assert not missing, "not in docs/matching.md or docs/rules.md: " + ", ".join(missing)


# ---------------------------------------------------------------------------
# The docs stand on their own.

def test_docs_do_not_point_outside_the_repository():
    offenders = []
    for path in [os.path.join(SRC, "README.md")] + glob.glob(os.path.join(DOCS, "*.md")):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if "shared/" in line or "DESIGN" in line:
                    offenders.append(f"{os.path.relpath(path, SRC)}:{n}: {line.strip()}")
    assert not offenders, ("README.md and docs/ must explain everything themselves, without "
                           "pointing at the team's design notes:\n" + "\n".join(offenders))


def test_every_page_is_linked_from_the_index():
    index = read("docs", "README.md")
    pages = [os.path.basename(p) for p in glob.glob(os.path.join(DOCS, "*.md"))]
    missing = [p for p in sorted(pages) if p != "README.md" and f"({p})" not in index]
    assert not missing, "docs pages not linked from docs/README.md: " + ", ".join(missing)
    assert "docs/README.md" in read("README.md"), "README.md does not point to docs/README.md"
