"""A stand-in for the daemon's HTTP API (docs/api.md), serving the live page
from the source tree: lets the page be checked in a browser against exact,
chosen data (for example the empty state) without running the pipeline.

Run by hand to look at the page: python3 tests/e2e/fake_api.py [PORT]
"""

import json
import sys
import threading
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "connectors" / "web" / "index.html"
WINDOWS = ["5m", "1h", "24h"]
BASES = ["mentions", "reach", "engagement", "views"]


def share_of_voice(counts, window, platform, basis, platforms):
    """The API body for `counts`: {category: {brand: {platform: value}}}."""
    cats = []
    for category in sorted(counts):
        brands = []
        for brand, per in counts[category].items():
            v = sum(per.values()) if platform == "all" else per.get(platform, 0)
            brands.append({"brand": brand, "value": v})
        total = sum(b["value"] for b in brands)
        for b in brands:
            b["share"] = round(b["value"] / total, 4) if total else None
        brands.sort(key=lambda b: (-b["value"], b["brand"]))
        cats.append({"category": category, "total": total,
                     "leader": brands[0]["brand"] if total else None, "brands": brands})
    return {"window": window, "platform": platform, "basis": basis,
            "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "windows": WINDOWS, "platforms": platforms, "bases": BASES, "categories": cats}


def unique_authors(authors, counts, window):
    """The /api/v1/unique-authors body: `authors` is {category: {brand: n}}."""
    return {"window": window, "platform": "all",
            "categories": [{"category": c, "brands": [{"brand": b, "unique_authors":
                                                       authors.get(c, {}).get(b, 0)}
                                                      for b in counts[c]]}
                           for c in sorted(counts)]}


class FakeApi:
    """Serves / and /api/v1/share-of-voice on 127.0.0.1 (port 0 = free), and
    /api/v1/signals with the body `signals` when given (else 404, as a
    daemon with signals off answers). With `authors` ({category: {brand:
    n}}) also /api/v1/unique-authors, and /api/v1/top-authors from `voices`
    ({"category/brand": [author, ...]}, the same list for every window;
    `by=reach` sorts it by followers), else both answer 400 as the daemon
    does with audience off. `pages` maps extra paths to HTML (test
    harnesses)."""

    def __init__(self, counts, platforms, port=0, signals=None, authors=None, voices=None,
                 pages=None):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/":
                    self._send(200, "text/html; charset=utf-8", PAGE.read_bytes())
                elif url.path == "/api/v1/share-of-voice":
                    window = q.get("window", WINDOWS[0])
                    platform = q.get("platform", "all")
                    basis = q.get("basis", "mentions")
                    if window not in WINDOWS or basis not in BASES or (
                            platform != "all" and platform not in api.platforms):
                        body = {"error": "unknown window, platform or basis"}
                        self._send(400, "application/json", json.dumps(body).encode())
                        return
                    body = share_of_voice(api.counts, window, platform, basis, api.platforms)
                    self._send(200, "application/json", json.dumps(body).encode())
                elif url.path == "/api/v1/signals" and api.signals is not None:
                    self._send(200, "application/json", json.dumps(api.signals).encode())
                elif url.path in ("/api/v1/unique-authors", "/api/v1/top-authors"):
                    api.requests.append((url.path, q))
                    if api.authors is None:
                        body = {"error": "audience is disabled (audience.enabled: false)"}
                        self._send(400, "application/json", json.dumps(body).encode())
                    elif url.path == "/api/v1/unique-authors":
                        body = unique_authors(api.authors, api.counts, q.get("window", WINDOWS[0]))
                        self._send(200, "application/json", json.dumps(body).encode())
                    else:
                        key = q.get("category", "") + "/" + q.get("brand", "")
                        authors = list(api.voices.get(key, []))
                        if q.get("by") == "reach":
                            authors.sort(key=lambda a: (-a["followers"], a["id"]))
                        self._send(200, "application/json",
                                   json.dumps({"authors": authors[:10]}).encode())
                elif url.path in api.pages:
                    self._send(200, "text/html; charset=utf-8", api.pages[url.path].encode())
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, status, ctype, body):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.counts, self.platforms, self.signals = counts, platforms, signals
        self.authors, self.voices, self.pages = authors, voices or {}, pages or {}
        self.requests = []  # (path, query) of the audience API calls
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


DEMO = {
    "sneakers": {"nike": {"twitter": 6, "instagram": 1}, "adidas": {"twitter": 3, "instagram": 3},
                 "puma": {"twitter": 1}, "reebok": {}},
    "cola": {"coca-cola": {"twitter": 40, "tiktok": 25, "youtube": 5},
             "pepsi": {"twitter": 22, "tiktok": 31}},
}
DEMO_AUTHORS = {"sneakers": {"nike": 5, "adidas": 4, "puma": 1}, "cola": {"coca-cola": 52, "pepsi": 40}}
DEMO_VOICES = {"sneakers/nike": [
    {"id": "1001", "handle": "@runner_ann", "mentions": 3, "followers": 1200},
    {"id": "1002", "handle": "@sneakerhead", "mentions": 2, "followers": 98000},
    {"id": "1003", "handle": None, "mentions": 1, "followers": 15}]}

if __name__ == "__main__":
    with FakeApi(DEMO, ["twitter", "instagram", "tiktok", "youtube", "reddit"],
                 int(sys.argv[1]) if len(sys.argv) > 1 else 8099,
                 authors=DEMO_AUTHORS, voices=DEMO_VOICES) as f:
        print(f.url, flush=True)
        f.thread.join()
