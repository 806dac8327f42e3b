"""Kept-alive connections must not pay Nagle's delay: the service sets TCP_NODELAY on its connections.

Without it, each response's second small write waits for the client's delayed ACK (about 40 ms on Linux), so a
connection-pooling client (requests.Session, browsers, Go, Node) saw ~42 ms per GET /health instead of ~1 ms.
"""

import statistics
import time

import requests


def _round_trips_ms(session, method, url, count, **kwargs):
    times = []
    for _ in range(count):
        start = time.perf_counter()
        r = session.request(method, url, timeout=30, **kwargs)
        times.append((time.perf_counter() - start) * 1000.0)
        assert r.status_code == 200, r.text
    return times


def test_kept_alive_health_round_trip_takes_milliseconds_not_tens(tiny_service):
    with requests.Session() as session:
        _round_trips_ms(session, "GET", tiny_service.url + "/health", 3)  # connect, warm the path
        times = _round_trips_ms(session, "GET", tiny_service.url + "/health", 40)
    # With Nagle on, every round trip is ~40 ms (the delayed-ACK timer), so the median is far above 20 ms; with
    # TCP_NODELAY it is ~1 ms. 20 ms leaves room for a loaded shared machine while still failing the defect.
    assert statistics.median(times) < 20.0, f"median {statistics.median(times):.1f} ms: {sorted(times)}"


def test_kept_alive_text_embedding_round_trip_takes_milliseconds_not_tens(tiny_service):
    url = tiny_service.url + "/v1/embed/text"
    with requests.Session() as session:
        _round_trips_ms(session, "POST", url, 3, json={"text": "a kept-alive prompt"})
        # The same text: after the first request it comes from the prompt cache, so the time is the wire's.
        times = _round_trips_ms(session, "POST", url, 40, json={"text": "a kept-alive prompt"})
    assert statistics.median(times) < 20.0, f"median {statistics.median(times):.1f} ms: {sorted(times)}"
