"""`earshot check --config X` rejects what `earshot run --config X` rejects,
and accepts what it accepts (docs/cli.md, "check"): both go through one
preparation (cmd/deployment.h). Each case is a bad variant and the valid one
next to it; `run` listens on port 0 and must fail before it serves."""
import subprocess

import pytest

from conftest import BIN, Daemon, run

RULE = "category: c\nbrands:\n  - name: b\n    terms: [b]\n"


def write(tmp_path, config, files):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.yaml").write_text(files.get("rules/r.yaml", RULE))
    cfg = tmp_path / "earshot.yaml"
    cfg.write_text('rules: {paths: [rules/], reload: "off"}\n'
                   'http: {listen: "127.0.0.1:0"' + config.pop("http", "") + "}\n" +
                   "".join(config.values()))
    return str(cfg)


def check(cfg, *flags):
    r = run("check", *flags, "--config", cfg)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def run_rejects(cfg, tmp_path):
    """`earshot run` exits non-zero without ever listening; its output."""
    r = subprocess.run([BIN, "run", "--config", cfg], cwd=str(tmp_path), capture_output=True,
                       timeout=30)
    out = r.stdout.decode() + r.stderr.decode()
    assert r.returncode != 0, out
    assert "listening on" not in out, out
    return out


def run_accepts(cfg, tmp_path):
    d = Daemon(cfg, str(tmp_path), "accepted")  # fails if it exits before listening
    status, _ = d.get("/healthz")
    assert status == 200
    log = d.logs()
    assert d.stop() == 0, d.logs()
    return log


KAFKA = ('source:\n  type: kafka\n  kafka:\n    brokers: "127.0.0.1:1"\n    topics: [t]\n'
         '    group_id: g\n    properties:\n      {prop}\n')

# name -> (config pieces, files, the valid variant's, what the error says)
CASES = {
    "web_config": (
        {"http": ", web_config: web.yml"},
        {"web.yml": "basic_auth_users:\n  alice: not-a-bcrypt-hash\n"},
        {"web.yml": "http_server_config:\n  headers: {X-Frame-Options: deny}\n"},
        "web.yml:2:10:",
    ),
    "lexicon": (
        {"lex": "sentiment: {lexicons: [lex.tsv]}\n"},
        {"lex.tsv": "amazing 4\n"},
        {"lex.tsv": "amazing\t4\n"},
        "lex.tsv:1:",
    ),
    "kafka_property": (
        {"src": KAFKA.format(prop='fetch.max.bytez: "52428800"')},
        {},
        {"earshot.yaml.valid": KAFKA.format(prop='fetch.max.bytes: "52428800"')},
        'earshot.yaml:10:24: kafka property "fetch.max.bytez": No such configuration property',
    ),
    "kafka_property_value": (
        {"src": KAFKA.format(prop='fetch.max.bytes: "lots"')},
        {},
        {"earshot.yaml.valid": KAFKA.format(prop='fetch.max.bytes: "52428800"')},
        'earshot.yaml:10:24: kafka property "fetch.max.bytes": Invalid value',
    ),
    "platform": (
        {"platforms": "platforms: [twitter, reddit]\n"},
        {"rules/r.yaml": RULE + "    platforms: [mastodon]\n"},
        {"earshot.yaml.valid": "platforms: [twitter, mastodon]\n"},
        'rules/r.yaml:5:17: unknown platform "mastodon"',
    ),
    "input_file": (
        {"src": "source: {type: file, file: {paths: [missing.jsonl], follow: true}}\n"},
        {},
        {"missing.jsonl": ""},
        "file source: cannot open",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_and_run_reject_the_same_and_accept_the_same(tmp_path, name):
    config, files, valid, error = CASES[name]
    cfg = write(tmp_path, dict(config), files)
    rc, out = check(cfg)
    assert rc == 1, out
    assert error in out, out
    assert error in run_rejects(cfg, tmp_path)

    # The valid variant: a fixed file, or (earshot.yaml.valid) the config's
    # offending piece replaced.
    fixed = dict(config)
    if "earshot.yaml.valid" in valid:
        fixed = {"http": config.get("http", ""), "valid": valid["earshot.yaml.valid"]}
    cfg = write(tmp_path, fixed, {**files, **{k: v for k, v in valid.items()
                                              if k != "earshot.yaml.valid"}})
    rc, out = check(cfg)
    assert rc == 0, out
    assert out.startswith("ok: 1 files"), out
    run_accepts(cfg, tmp_path)


def test_check_rejects_a_broken_shadow_set_which_run_only_reports(tmp_path):
    """A candidate that does not load: `check` answers the question "is the
    candidate valid?" with an error; `run` logs it and counts on without one
    (docs/shadow.md)."""
    cfg = write(tmp_path, {"shadow": 'shadow: {paths: [cand/], reload: "off"}\n'},
                {"cand/r.yaml": "category: c\nbrands:\n  - name: b\n    termz: [b]\n"})
    rc, out = check(cfg)
    assert rc == 1, out
    assert "cand/r.yaml:4:5: unknown key" in out, out
    log = run_accepts(cfg, tmp_path)
    assert "shadow rules: reload failed" in log, log
    # --no-shadow (the systemd unit's pre-start check): exactly what run accepts.
    rc, out = check(cfg, "--no-shadow")
    assert rc == 0, out
    assert "shadow" not in out, out

    (tmp_path / "cand" / "r.yaml").write_text(RULE)
    rc, out = check(cfg)
    assert rc == 0, out
    assert "ok: shadow rules: 1 files, 1 brands" in out, out


def test_every_bad_kafka_property_is_reported_at_its_line(tmp_path):
    """Not only the first: each bad property at the line that sets it, in
    the file's order, by check and run alike; the dead-letter producer's
    properties too."""
    props = ('security.protocol: carrier_pigeon\n      session.timeout.ms: "-5"\n'
             '      fetch.max.bytez: "1"')
    cfg = write(tmp_path, {"src": KAFKA.format(prop=props)}, {})
    want = ['earshot.yaml:10:26: kafka property "security.protocol": Invalid value',
            'earshot.yaml:11:27: kafka property "session.timeout.ms":',
            'earshot.yaml:12:24: kafka property "fetch.max.bytez": No such configuration property']
    rc, out = check(cfg)
    assert rc == 1, out
    run_out = run_rejects(cfg, tmp_path)
    for text in (out, run_out):
        lines = [line for line in text.splitlines() if "kafka property" in line]
        assert len(lines) == 3, text
        for line, w in zip(lines, want):
            assert w in line, text

    cfg = write(tmp_path, {"src": KAFKA.format(prop='acks: "banana"'),
                           "dlq": "dead_letter: {topic: dlq}\n"}, {})
    rc, out = check(cfg)
    assert rc == 1, out
    assert 'earshot.yaml:10:13: kafka property "acks"' in out, out
    assert 'earshot.yaml:10:13: kafka property "acks"' in run_rejects(cfg, tmp_path)


def test_no_rule_paths_is_the_config_files_error_for_check_and_run(tmp_path):
    cfg = tmp_path / "earshot.yaml"
    cfg.write_text('http: {listen: "127.0.0.1:0"}\n')
    rc, out = check(str(cfg))
    assert rc == 1, out
    assert f"{cfg}: no rule paths configured (rules.paths)" in out, out
    assert "usage" not in out, out
    assert f"{cfg}: no rule paths configured (rules.paths)" in run_rejects(str(cfg), tmp_path)
