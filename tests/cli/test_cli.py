"""The CLI commands: check, test, explain, replay, generate (docs/cli.md)."""
import json
import os
import subprocess

from conftest import BIN, SRC, parse_metrics, run

RULES = os.path.join(SRC, "deploy", "rules")


def test_check_accepts_the_shipped_rules():
    r = run("check", RULES)
    assert r.returncode == 0, r.stderr.decode()
    assert b"ok:" in r.stdout


def test_check_reports_every_error_compiler_style(tmp_path):
    f = tmp_path / "sneakers.yaml"
    f.write_text("category: sneakers\nbrands:\n  - name: nike\n    term: [nike]\n"
                 "  - name: adidas\n    query: 'adidas shoes'\n")
    r = run("check", str(f))
    assert r.returncode == 1
    err = r.stderr.decode()
    assert f'{f}:4:5: unknown key "term" (did you mean "terms"?)' in err, err
    assert f"{f}:6:" in err and "missing operator" in err, err


def test_check_reports_load_and_compile_errors_together(tmp_path):
    # An unknown key (found by the loader) does not hide a bad regex or an
    # unknown platform (found by the compiler), in this file or the next.
    a = tmp_path / "a.yaml"
    a.write_text("category: c\nbrands:\n  - name: x\n    terms: [x]\n    bogus: 1\n"
                 "  - name: y\n    regex: ['(']\n")
    b = tmp_path / "b.yaml"
    b.write_text("category: d\nbrands:\n  - name: z\n    terms: [z]\n    platforms: [myspace]\n")
    r = run("check", str(a), str(b))
    assert r.returncode == 1
    err = r.stderr.decode()
    lines = [l for l in err.splitlines() if not l.startswith("  hint:")]
    assert lines == [f'{a}:5:5: unknown key "bogus"',
                     f'{a}:7:13: invalid regex "(": missing ): (',
                     f'{b}:5:17: unknown platform "myspace"'], err


def test_check_validates_the_config_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"rules: {{paths: [{RULES}]}}\nwindows:\n  - {{name: 5m, size: 5m, stepp: 10s}}\n")
    r = run("check", "--config", str(cfg))
    assert r.returncode == 1
    assert f'{cfg}:3:26: unknown key "stepp" (did you mean "step"?)' in r.stderr.decode()


def test_a_broken_rule_file_link_is_reported_under_its_own_path(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    os.symlink(tmp_path / "missing.yaml", rules / "link.yaml")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"rules: {{paths: [{rules}]}}\n")
    r = run("check", "--config", str(cfg))
    assert r.returncode == 1
    err = r.stderr.decode()
    # The error names its own file, so the config's path is not put before it.
    assert err.startswith(f"{rules / 'link.yaml'}: "), err
    assert "broken symbolic link" in err, err


def test_test_command_passes_and_fails_with_a_diff(tmp_path):
    ok = run("test", RULES)
    assert ok.returncode == 0, ok.stdout.decode()
    assert ok.stdout.decode().strip().splitlines()[-1].endswith(" passed, 0 failed")
    bad = tmp_path / "bad.yaml"
    bad.write_text("category: c\nbrands:\n  - name: nike\n    terms: [nike]\n"
                   "tests:\n  - event: {platform: twitter, text: \"adidas only\"}\n"
                   "    brands: [c/nike]\n")
    r = run("test", str(bad))
    out = r.stdout.decode()
    assert r.returncode == 1, out
    assert "FAIL" in out and "c/nike" in out
    assert out.strip().splitlines()[-1] == "0 passed, 1 failed"


def test_explain_shows_normalization_hits_and_rules():
    r = run("explain", "--rules", RULES, "--platform", "twitter", "--lang", "en",
            "Just bought new ＮＩＫＥ Air Max 90!")
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "just bought new nike air max 90!" in out
    assert "sneakers/nike" in out


def test_explain_reads_stdin_without_its_final_line_end(tmp_path):
    """`echo TEXT | earshot explain -` explains TEXT, as replay would count
    it: a regex anchored at the end still matches."""
    f = tmp_path / "r.yaml"
    f.write_text("category: c\nbrands:\n  - name: endnike\n    regex: ['nike$']\n")
    r = run("explain", "--rules", str(f), "-", input="just nike\n".encode())
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "normalized: just nike\n" in out, out
    assert "fired: brand c/endnike" in out, out
    # Newlines inside the text stay.
    r = run("explain", "--rules", str(f), "-", input="nike\nnot at the end\n".encode())
    assert "fired: brand c/endnike" not in r.stdout.decode(), r.stdout.decode()


def test_replay_reads_stdin_and_prints_the_exposition():
    lines = "\n".join([
        json.dumps({"id": "1", "platform": "twitter", "text": "nike", "created_at": 1767225600000}),
        json.dumps({"id": "2", "platform": "ig", "text": "adidas", "created_at": 1767225601000}),
        "garbage",
    ]) + "\n"
    r = run("replay", "--rules", RULES, "-", input=lines.encode())
    assert r.returncode == 0, r.stderr.decode()
    m = parse_metrics(r.stdout.decode())
    assert m['earshot_events_total{outcome="matched",source="file"}'] == 2
    assert m['earshot_events_total{outcome="invalid",source="file"}'] == 1
    assert m['earshot_mentions_total{brand="nike",category="sneakers",platform="twitter"}'] == 1
    assert m['earshot_share_of_voice_ratio{basis="mentions",brand="adidas",category="sneakers",platform="all",window="5m"}'] == 0.5


def test_replay_fails_when_the_exposition_cannot_be_written():
    line = json.dumps({"id": "1", "platform": "twitter", "text": "nike", "created_at": 1767225600000})
    with open("/dev/full", "wb") as full:
        r = subprocess.run([BIN, "replay", "--rules", RULES, "-"], input=(line + "\n").encode(),
                           stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 1
    assert "writing the exposition to stdout: No space left on device" in r.stderr.decode()


def test_help_after_a_command_prints_the_usage():
    for args in (["run", "--help"], ["replay", "-h"], ["explain", "--rules", RULES, "--help"]):
        r = run(*args)
        assert r.returncode == 0, args
        assert r.stdout.decode().startswith("usage: earshot"), args
    r = run("replay", "--rules", RULES, "--", "-h")  # after --, a file name
    assert r.returncode == 1 and "-h" in r.stderr.decode()


def test_reports_that_cannot_be_written_are_failures():
    # check, test, explain and generate to a full disk: exit 1 and a message,
    # not an exit 0 with nothing written. generate's reader gone (a pipe
    # into head) still ends it with 0.
    cases = [["check", RULES], ["test", RULES], ["explain", "--rules", RULES, "nike"],
             ["generate", "--count", "5"]]
    for args in cases:
        with open("/dev/full", "wb") as full:
            r = subprocess.run([BIN, *args], stdout=full, stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 1, (args, r.stderr.decode())
        assert f"earshot {args[0]}: cannot write to stdout" in r.stderr.decode(), args
    p = subprocess.Popen([BIN, "generate", "--count", "1000000"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()
    assert p.wait(timeout=60) == 0
    assert p.stderr.read() == b""


def test_generate_refuses_numbers_with_a_tail_and_extra_arguments():
    # "10x" was 10, "1e3" 1, and "0x10" 0, which runs for ever.
    for args in (["--count", "1e3"], ["--count", "10x"], ["--count", "0x10"],
                 ["--seed", "5abc", "--count", "2"], ["--rate", "1.5x", "--count", "1"]):
        r = run("generate", *args, timeout=10)
        assert r.returncode == 2, args
        assert "take numbers" in r.stderr.decode(), args
    r = run("generate", "--count", "1", "extra")
    assert r.returncode == 2 and 'unexpected argument "extra"' in r.stderr.decode()


def test_generate_writes_valid_canonical_events():
    r = run("generate", "--count", "200", "--seed", "7")
    assert r.returncode == 0
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 200
    platforms = set()
    for line in lines:
        e = json.loads(line)
        assert {"id", "platform", "text", "created_at"} <= e.keys()
        platforms.add(e["platform"])
    assert len(platforms) >= 4
    again = run("generate", "--count", "200", "--seed", "7")
    # Deterministic per seed apart from the timestamp.
    strip = lambda s: [json.loads(l)["text"] for l in s.decode().splitlines()]
    assert strip(again.stdout) == strip(r.stdout)
    # A replay of generated events matches most of them.
    rep = run("replay", "--rules", RULES, "-", input=r.stdout)
    m = parse_metrics(rep.stdout.decode())
    assert m['earshot_events_total{outcome="matched",source="file"}'] > 150


def test_paced_generate_ends_when_its_reader_goes_away():
    # docs/cli.md: generate exits 0 once the reader of stdout is gone, also
    # when paced (--rate), whose writes only fill stdio's buffer.
    p = subprocess.Popen([BIN, "generate", "--rate", "1000"], stdout=subprocess.PIPE)
    try:
        for _ in range(3):
            assert json.loads(p.stdout.readline())["id"]
        p.stdout.close()
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_unknown_command_and_option_exit_2():
    assert run("frobnicate").returncode == 2
    assert run("check", "--nope", "x").returncode == 2
