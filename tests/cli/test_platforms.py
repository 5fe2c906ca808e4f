"""One truth on every path: a platform outside the config's list is `other`
for `earshot replay` (the label), `earshot explain --platform` (the rule
fires) and the rule files' own `tests:` run by `earshot test --config`; a
declared platform (also through an alias) is itself on all three paths
(docs/config.md `platforms`, docs/cli.md)."""
import json

import pytest

from conftest import parse_metrics, run

# elsewhere: only where the platform is not declared; gram: only instagram;
# fedi: only a declared mastodon (compiles only when mastodon is declared).
BRANDS_UNDECLARED = """category: social
brands:
  - name: elsewhere
    terms: [nike]
    platforms: [other]
  - name: gram
    terms: [nike]
    platforms: [instagram]
"""
RULES_UNDECLARED = BRANDS_UNDECLARED + """tests:
  - event: {platform: mastodon, text: "nike on the fediverse"}
    brands: [social/elsewhere]
  - event: {platform: instagram, text: "nike on the gram"}
    brands: [social/gram]
  - event: {platform: ig, text: "nike through an alias"}
    brands: [social/gram]
  - event: {platform: twitter, text: "nike on a declared platform no rule takes"}
    brands: []
  - event: {text: "nike without a platform"}
    brands: [social/elsewhere]
"""
RULES_DECLARED = """category: social
brands:
  - name: elsewhere
    terms: [nike]
    platforms: [other]
  - name: fedi
    terms: [nike]
    platforms: [mastodon]
tests:
  - event: {platform: mastodon, text: "nike on the fediverse"}
    brands: [social/fedi]
  - event: {platform: bluesky, text: "nike on a platform still undeclared"}
    brands: [social/elsewhere]
"""

EVENTS = [
    {"id": "1", "platform": "mastodon", "text": "nike on the fediverse", "created_at": 1767225600000},
    {"id": "2", "platform": "instagram", "text": "nike on the gram", "created_at": 1767225601000},
    {"id": "3", "platform": "ig", "text": "nike through an alias", "created_at": 1767225602000},
    {"id": "4", "platform": "bluesky", "text": "nike on a platform never declared", "created_at": 1767225603000},
]


def setup(tmp_path, platforms, rules):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "social.yaml").write_text(rules)
    cfg = tmp_path / "earshot.yaml"
    cfg.write_text(f"rules: {{paths: [rules/]}}\nplatforms: [{', '.join(platforms)}]\n")
    return str(cfg)


def mentions(m, brand, platform):
    return m.get(f'earshot_mentions_total{{brand="{brand}",category="social",platform="{platform}"}}')


def replay(cfg):
    lines = "".join(json.dumps(e) + "\n" for e in EVENTS)
    r = run("replay", "--config", cfg, "-", input=lines.encode())
    assert r.returncode == 0, r.stderr.decode()
    return parse_metrics(r.stdout.decode())


def fired(cfg, platform, text):
    r = run("explain", "--config", cfg, "--platform", platform, text)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    return {line.split()[2] for line in out.splitlines() if line.startswith("fired: brand ")}, out


def rule_tests(cfg):
    """(exit status, summary line, output) of `earshot test --config cfg`."""
    t = run("test", "--config", cfg)
    out = t.stdout.decode() + t.stderr.decode()
    return t.returncode, t.stdout.decode().strip().splitlines()[-1], out


def test_an_undeclared_platform_is_other_on_every_path(tmp_path):
    cfg = setup(tmp_path, ["twitter", "instagram"], RULES_UNDECLARED)

    m = replay(cfg)
    assert mentions(m, "elsewhere", "other") == 2  # mastodon and bluesky
    assert mentions(m, "gram", "instagram") == 2   # instagram and ig
    assert mentions(m, "elsewhere", "instagram") is None
    assert mentions(m, "gram", "other") is None
    assert not any('platform="mastodon"' in k or 'platform="bluesky"' in k for k in m), \
        [k for k in m if "mastodon" in k or "bluesky" in k]

    brands, out = fired(cfg, "mastodon", "nike on the fediverse")
    assert brands == {"social/elsewhere"}, out
    assert "other" in out, out  # the undeclared platform is reported as counting as other
    brands, out = fired(cfg, "instagram", "nike on the gram")
    assert brands == {"social/gram"}, out
    brands, out = fired(cfg, "ig", "nike through an alias")
    assert brands == {"social/gram"}, out

    code, summary, out = rule_tests(cfg)
    assert (code, summary) == (0, "5 passed, 0 failed"), out


def test_a_declared_platform_is_itself_on_every_path(tmp_path):
    cfg = setup(tmp_path, ["twitter", "instagram", "mastodon"], RULES_DECLARED)

    m = replay(cfg)
    assert mentions(m, "fedi", "mastodon") == 1
    assert mentions(m, "elsewhere", "mastodon") is None
    assert mentions(m, "elsewhere", "other") == 1  # bluesky
    assert mentions(m, "fedi", "other") is None

    brands, out = fired(cfg, "mastodon", "nike on the fediverse")
    assert brands == {"social/fedi"}, out
    brands, out = fired(cfg, "bluesky", "nike on a platform still undeclared")
    assert brands == {"social/elsewhere"}, out

    code, summary, out = rule_tests(cfg)
    assert (code, summary) == (0, "2 passed, 0 failed"), out


@pytest.mark.parametrize("platforms,expect", [
    (["twitter", "instagram"], "social/gram"),            # mastodon is other: elsewhere fires
    (["twitter", "instagram", "mastodon"], "social/elsewhere"),  # mastodon is itself: nothing fires
])
def test_a_wrong_expectation_fails(tmp_path, platforms, expect):
    """The rule-file tests can fail: the same case with the wrong claim."""
    rules = BRANDS_UNDECLARED + f"""tests:
  - event: {{platform: mastodon, text: "nike on the fediverse"}}
    brands: [{expect}]
"""
    cfg = setup(tmp_path, platforms, rules)
    code, summary, out = rule_tests(cfg)
    assert (code, summary) == (1, "0 passed, 1 failed"), out
