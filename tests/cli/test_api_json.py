"""Property: whatever the query string, every JSON endpoint answers a body
that is JSON (RFC 8259: UTF-8, no NaN) with Content-Type application/json,
whatever the status. A seeded RNG makes a few hundred query strings of
percent-encoded random bytes (NUL, LF, quotes, backslashes, invalid and
overlong UTF-8), repeated keys, keys without values, 10 kB values and raw
bytes the HTTP grammar lets through; they are sent over a plain socket so
that nothing is re-encoded on the way."""
import json
import random
import socket
import string

from conftest import event, wait_for

ENDPOINTS = ["/api/v1/share-of-voice", "/api/v1/shadow", "/api/v1/signals",
             "/api/v1/top-authors", "/api/v1/unique-authors"]
KEYS = ["window", "platform", "basis", "category", "brand", "by", "since", "limit"]
GOOD = ["5m", "1h", "24h", "twitter", "instagram", "other", "all", "mentions", "reach",
        "engagement", "views", "sneakers", "nike", "adidas", "followers"]
NASTY = ["%00", "%0A", "%0D%0A", "%22", "%5C", "%FF%FE", "%C0%80", "%C0%AF", "%E0%80%AF",
         "%ED%A0%80", "%F4%90%80%80", "%E2%82", "%F0%9F%98", "%F0%9F%98%80", "%", "%G1", "%4",
         "+", "%2B", "%26", "%3D", "%25", "%7F", "%1F", "%08", "%E2%80%A8", "%EF%BB%BF",
         "%5Cu0000", "%5Cud800", "%22%7D", "%7B%22a%22%3A1%7D"]
# Raw (unencoded) bytes the HTTP parser (Beast) lets through in a target.
RAW = [b'"', b"\\", b"{", b"}", b"|", b"^", b"`", b"<", b">", b"'", b"[", b"]", b";", b":",
       b"@", b"$", b"!", b"*", b"(", b")", b",", b"/", b"?", b"~"]
UNRESERVED = (string.ascii_letters + string.digits + "-._~").encode()


def pct(data):
    return "".join(f"%{b:02X}" for b in data).encode()


def random_value(rng):
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice(GOOD).encode()
    if kind == 1:
        return pct(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12))))
    if kind == 2:
        return "".join(rng.choice(NASTY) for _ in range(rng.randrange(1, 5))).encode()
    if kind == 3:
        return b"".join(rng.choice(RAW) for _ in range(rng.randrange(1, 6)))
    if kind == 4:
        return bytes([rng.randrange(0x80, 0x100) for _ in range(rng.randrange(1, 6))])
    if kind == 5:  # 10 kB, under the 16 kB request-head limit (http_server.h)
        return bytes(rng.choice(UNRESERVED) for _ in range(10 * 1024))
    if kind == 6:
        return rng.choice(GOOD).encode() + rng.choice(NASTY).encode()
    if kind == 7:
        return b""
    return pct(rng.choice(GOOD).encode())  # a good value, fully encoded


def random_query(rng):
    parts = []
    for _ in range(rng.randrange(0, 7)):
        shape = rng.randrange(6)
        key = rng.choice(KEYS).encode() if rng.random() < 0.8 else random_value(rng)[:64]
        if shape == 0:
            parts.append(key)  # a key without a value
        elif shape == 1:
            parts.append(key + b"=")
        elif shape == 2:  # the same key again
            parts.append(key + b"=" + random_value(rng))
            parts.append(key + b"=" + random_value(rng))
        elif shape == 3:
            parts.append(b"=" + random_value(rng))  # a value without a key
        else:
            parts.append(key + b"=" + random_value(rng))
    sep = rng.choice([b"&", b"&", b"&&", b";"])
    q = sep.join(parts) + (b"&" if rng.random() < 0.1 else b"")
    # One 10 kB value at most: a request head over 16 kB is refused with 431
    # before any routing (http_server.h; test_request_head_limit below).
    return q if len(q) <= 14 * 1024 else q[:14 * 1024]


def http_get_raw(port, target):
    """(status, headers {lower name: value}, body bytes) for GET target."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode("latin-1")
    if headers.get("transfer-encoding") == "chunked":
        out, rest = b"", body
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2:]
        body = out
    else:
        assert len(body) == int(headers["content-length"]), headers
    return status, headers, body


def strict_json(body):
    def no_constants(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(body.decode("utf-8"), parse_constant=no_constants)


def config(tmp_path):
    for d in ("rules", "candidate"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "sneakers.yaml").write_text(
            "category: sneakers\nbrands:\n  - name: nike\n    terms: [nike]\n"
            "  - name: adidas\n    terms: [adidas" + (", stripes" if d == "candidate" else "") + "]\n")
    lines = [event(i, t, platform=p, author={"id": f"u{i % 3}", "followers": 10 * i},
                   engagement={"likes": i, "views": 100})
             for i, (t, p) in enumerate([("nike #run", "twitter"), ("adidas stripes", "instagram"),
                                         ("nike and adidas", "twitter"), ("nike \u00e9\u00e8", "x")])]
    (tmp_path / "events.jsonl").write_text("".join(line + "\n" for line in lines))
    return """source:
  type: file
  file: {paths: [events.jsonl], follow: true}
rules: {paths: [rules/], reload: off}
shadow: {paths: [candidate/], reload: off}
platforms: [twitter, instagram]
http: {listen: "127.0.0.1:0"}
"""


def test_every_json_endpoint_answers_json_for_any_query(tmp_path, daemon_factory):
    d = daemon_factory(config(tmp_path))
    wait_for(lambda: d.get("/readyz")[0] == 200, what="/readyz")
    wait_for(lambda: strict_json(http_get_raw(d.port, b"/api/v1/shadow?window=5m")[2]) is not None,
             what="the shadow endpoint")
    rng = random.Random(20261203)
    queries = [random_query(rng) for _ in range(300)]
    # The fixed cases first, so that they are always in the sample.
    queries[:0] = [b"", b"?", b"&", b"=", b"==", b"window", b"window=", b"window=5m&window=1h",
                   b"window=%00", b"platform=%0A", b"brand=%22", b"category=%5C",
                   b"window=%FF%FE", b"platform=%C0%80", b"platform=%ED%A0%80",
                   b"basis=" + b"a" * 10240, b"window=\xff\xfe", b'brand="}', b"brand=\\",
                   b"window=5m%00", b"platform=twitter%FF", b"by=%E2%82"]
    failures = []
    statuses = {}
    for i, q in enumerate(queries):
        for ep in ENDPOINTS:
            target = ep.encode() + b"?" + q
            status, headers, body = http_get_raw(d.port, target)
            statuses[status] = statuses.get(status, 0) + 1
            problem = None
            if headers.get("content-type") != "application/json":
                problem = f"Content-Type {headers.get('content-type')!r}"
            else:
                try:
                    strict_json(body)
                except ValueError as e:
                    problem = f"not JSON ({e})"
            if problem:
                failures.append(f"#{i} {target[:200]!r} -> {status}: {problem}: {body[:200]!r}")
    assert not failures, f"{len(failures)} bad answers, e.g.:\n" + "\n".join(failures[:15])
    # The sample reached the handlers: both answers and refusals of bad values.
    assert statuses.get(200, 0) > 500 and statuses.get(400, 0) > 100, statuses
    assert d.get("/healthz")[0] == 200
    assert d.proc.poll() is None


def test_a_request_head_over_the_limit_is_refused_before_routing(tmp_path, daemon_factory):
    """The one answer that is not JSON: a head over max_header_bytes (16 kB)
    never reaches an endpoint; the server refuses it with 431 and closes."""
    d = daemon_factory(config(tmp_path))
    status, headers, body = http_get_raw(d.port, b"/api/v1/share-of-voice?window=" + b"a" * 20000)
    assert status == 431, (status, body)
    status, headers, body = http_get_raw(d.port, b"/api/v1/share-of-voice?window=" + b"a" * 10240)
    assert status == 400 and headers["content-type"] == "application/json", (status, body)
    assert "error" in strict_json(body)
