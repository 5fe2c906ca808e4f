"""Hostile input through the file source (`earshot replay`): every line is
either processed or counted as invalid with its reason, exactly once in
earshot_events_total; no crash, no hang, bounded memory (docs/reliability.md).

Under scripts/sanitize.sh the same cases run against the AddressSanitizer /
UndefinedBehaviorSanitizer build, so a memory error on any of them fails too.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(os.environ.get("EARSHOT_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BIN = os.environ.get("EARSHOT_BIN", str(SRC / "build" / "cmd" / "earshot"))
RULES = "category: sneakers\nbrands:\n  - name: nike\n    terms: [nike, '#nike']\n"


def post(text: bytes, extra: bytes = b"") -> bytes:
    return b'{"id":"1","platform":"twitter","text":"' + text + b'"' + extra + b"}"


def followers(value: bytes) -> bytes:
    return post(b"nike", b',"author":{"followers":' + value + b"}")


# name -> (line without its newline, outcome, invalid reason or None)
CASES = {
    # Nesting hundreds of thousands deep: refused at max_json_depth (64).
    "deep_arrays_300k": (b'{"id":"1","platform":"twitter","text":"x","a":' + b"[" * 300000
                         + b"]" * 300000 + b"}", "invalid", "too_deep"),
    "deep_unclosed_300k": (b"[" * 300000, "invalid", "too_deep"),
    "deep_objects_200k": (b'{"a":' * 200000, "invalid", "too_deep"),
    # Several megabytes: refused at max_event_bytes (1 MiB) without buffering it.
    "message_3_5mb": (post(b"nike " * 700000), "invalid", "too_large"),
    # A valid post of nearly 1 MB, and one with thousands of hashtags.
    "valid_post_1mb": (post(b"nike " * 209000), "matched", None),
    "hashtags_5000": (post(b" ".join(b"#tag%d #nike" % i for i in range(5000))), "matched", None),
    # Raw control characters inside strings are not JSON (RFC 8259 section 7).
    "raw_control_char": (post(b"a\x01b nike"), "invalid", "json_syntax"),
    "raw_tab": (post(b"a\tb nike"), "invalid", "json_syntax"),
    "raw_nul": (post(b"a\x00b nike"), "invalid", "json_syntax"),
    "del_is_allowed": (post(b"a\x7fb nike"), "matched", None),
    # Invalid UTF-8 and encoded surrogates.
    "invalid_utf8": (post(b"\xc3\x28 nike"), "invalid", "bad_utf8"),
    "overlong_utf8": (post(b"\xc0\xaf nike"), "invalid", "bad_utf8"),
    "utf8_encoded_surrogate": (post(b"\xed\xa0\x80 nike"), "invalid", "bad_utf8"),
    "truncated_utf8": (post(b"nike \xe2\x82"), "invalid", "bad_utf8"),
    # Lone surrogate escapes are bad_utf8; a proper pair is fine.
    "lone_high_escape": (post(b"\\ud800 nike"), "invalid", "bad_utf8"),
    "lone_low_escape": (post(b"\\udc00 nike"), "invalid", "bad_utf8"),
    "two_high_escapes": (post(b"\\ud800\\ud800 nike"), "invalid", "bad_utf8"),
    "surrogate_pair": (post(b"\\ud83d\\ude00 nike"), "matched", None),
    # A UTF-8 byte-order mark at the start of a line is accepted and dropped.
    "bom": (b"\xef\xbb\xbf" + post(b"nike"), "matched", None),
    "two_boms": (b"\xef\xbb\xbf\xef\xbb\xbf" + post(b"nike"), "invalid", "json_syntax"),
    # CRLF line ends.
    "crlf": (post(b"nike") + b"\r", "matched", None),
    # Numbers that overflow or are not non-negative integers.
    "followers_1e400": (followers(b"1e400"), "invalid", "bad_type"),
    "followers_2_pow_64": (followers(b"18446744073709551616"), "invalid", "bad_type"),
    "followers_negative": (followers(b"-1"), "invalid", "bad_type"),
    "followers_fraction": (followers(b"1.5"), "invalid", "bad_type"),
    "followers_integral_float": (followers(b"2.0"), "matched", None),
    "id_bigger_than_uint64": (b'{"id":123456789012345678901234567890,"platform":"twitter",'
                              b'"text":"nike"}', "invalid", "bad_type"),
    "created_at_overflow": (post(b"nike", b',"created_at":99999999999999999999'),
                            "invalid", "bad_timestamp"),
    # Duplicate keys: the last value wins (as in most JSON parsers).
    "duplicate_keys_last_wins": (b'{"id":"1","platform":"twitter","text":"x","text":"nike"}',
                                 "matched", None),
    "duplicate_keys_last_wins_2": (b'{"id":"1","platform":"twitter","text":"nike","text":"x"}',
                                   "unmatched", None),
    # Not an event at all.
    "empty_line": (b"", "invalid", "json_syntax"),
    "blank_line": (b"   ", "invalid", "json_syntax"),
    "array": (b"[1,2]", "invalid", "not_object"),
    "truncated_json": (b'{"id":"1","platform":"twit', "invalid", "json_syntax"),
}


def replay(tmp: Path, data, timeout=120):
    """(outcomes, reasons) of `earshot replay` over `data` (bytes or a path)."""
    (tmp / "rules.yaml").write_text(RULES)
    path = data if isinstance(data, Path) else _write(tmp / "in.jsonl", data)
    p = subprocess.run([BIN, "replay", "--rules", str(tmp / "rules.yaml"), str(path)],
                       capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-2000:]
    text = p.stdout.decode()
    outcomes = {m[0]: int(m[1]) for m in re.findall(
        r'^earshot_events_total\{outcome="(\w+)",source="file"\} (\d+)', text, re.M)}
    reasons = {m[0]: int(m[1]) for m in re.findall(
        r'^earshot_invalid_events_total\{reason="(\w+)"\} (\d+)', text, re.M)}
    assert outcomes, text[:2000]
    return outcomes, reasons


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_hostile_line_is_accounted_for_once(tmp_path, name):
    line, outcome, reason = CASES[name]
    outcomes, reasons = replay(tmp_path, line + b"\n")
    assert sum(outcomes.values()) == 1, outcomes
    assert outcomes.get(outcome) == 1, outcomes
    if reason is None:
        assert sum(reasons.values()) == 0, reasons
    else:
        assert reasons.get(reason) == 1 and sum(reasons.values()) == 1, reasons


def test_all_hostile_lines_in_one_file(tmp_path):
    """Interleaved with valid posts (unique ids), in one stream, the last line
    without a newline: every line counts exactly once."""
    lines, expect_outcomes, expect_reasons = [], {}, {}
    for i, name in enumerate(sorted(CASES)):
        line, outcome, reason = CASES[name]
        lines.append(line.replace(b'"id":"1"', b'"id":"h%d"' % i))
        lines.append(b'{"id":"ok%d","platform":"reddit","text":"fine"}' % i)
        expect_outcomes[outcome] = expect_outcomes.get(outcome, 0) + 1
        expect_outcomes["unmatched"] = expect_outcomes.get("unmatched", 0) + 1
        if reason:
            expect_reasons[reason] = expect_reasons.get(reason, 0) + 1
    outcomes, reasons = replay(tmp_path, b"\n".join(lines))
    assert sum(outcomes.values()) == len(lines)
    assert {k: v for k, v in outcomes.items() if v} == expect_outcomes
    assert {k: v for k, v in reasons.items() if v} == expect_reasons


def max_rss_of_replay(tmp: Path, data_path: Path) -> int:
    """Peak RSS in bytes of one `earshot replay`, measured in a fresh Python
    process so no earlier child's peak is mixed in."""
    (tmp / "rules.yaml").write_text(RULES)
    code = ("import resource,subprocess,sys;"
            "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    p = subprocess.run([sys.executable, "-c", code, BIN, "replay", "--rules",
                        str(tmp / "rules.yaml"), str(data_path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    return int(p.stdout.strip()) * 1024


def test_huge_line_is_not_buffered(tmp_path):
    """A 256 MiB line (no newline until its end) is too_large, and memory
    stays far below its size: the file source never holds it whole."""
    data = tmp_path / "huge.jsonl"
    with open(data, "wb") as f:
        f.write(b'{"id":"1","platform":"twitter","text":"')
        chunk = b"nike " * (1 << 18)
        for _ in range(256 * (1 << 20) // len(chunk)):
            f.write(chunk)
        f.write(b'"}\n' + post(b"nike after the huge line") + b"\n")
    baseline = max_rss_of_replay(tmp_path, _write(tmp_path / "small.jsonl", post(b"nike") + b"\n"))
    peak = max_rss_of_replay(tmp_path, data)
    assert peak < baseline + 64 * (1 << 20), (baseline, peak)
    outcomes, reasons = replay(tmp_path, data)
    assert outcomes.get("invalid") == 1 and reasons.get("too_large") == 1, (outcomes, reasons)
    assert outcomes.get("matched") == 1, outcomes


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
