"""Tests of llm_metrics against a real llm-metrics server (LLM_METRICS_URL, LLM_METRICS_AUTH_TOKEN), and
against small local HTTP servers that are slow, answer 503 or 429, refuse, or come up late; most of those
forward to the real server, so that what arrives is checked where it counts.

Run: LLM_METRICS_URL=http://127.0.0.1:8001 python3 -m pytest -q clients/python
(PythonClientTest runs them in the build against a server it starts.)
"""

import ast
import asyncio
import http.server
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import types
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import llm_metrics  # noqa: E402
from llm_metrics import MetricsClient  # noqa: E402

URL = (os.environ.get("LLM_METRICS_URL") or "http://localhost:8001").rstrip("/")
TOKEN = os.environ.get("LLM_METRICS_AUTH_TOKEN") or None


# ---------------------------------------------------------------------------------------------- helpers

def auth_headers():
    return {"x-internal-auth": TOKEN} if TOKEN else {}


def http_get(path):
    request = urllib.request.Request(URL + path, headers=auth_headers())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode("utf-8"))


def session(session_id):
    """The server's JSON of a session, or None when it does not know it."""
    try:
        return http_get("/events/metrics/session/" + urllib.parse.quote(session_id, safe=""))
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def new_session(name):
    return "py-%s-%s" % (name, uuid.uuid4().hex[:10])


def forward(body):
    """POSTs ``body`` to the real server's /events; its status and body."""
    request = urllib.request.Request(URL + "/events", data=body, method="POST",
                                     headers=dict({"Content-Type": "application/json"}, **auth_headers()))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def free_port():
    """A loopback port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(condition, timeout=5.0, step=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def accepted(count):
    return 202, [], json.dumps({"accepted": count, "duplicates": 0}).encode()


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        pass  # a client that gave up on a slow answer closed the connection: expected here


class Stub:
    """A local HTTP server for POST /events: ``respond(n, body)`` (n counts requests from 0) returns
    (status, [(header, value)], body bytes). Every request is kept in ``requests`` as (monotonic time, body)."""

    def __init__(self, respond, port=0):
        self.respond = respond
        self.requests = []
        self.lock = threading.Lock()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with stub.lock:
                    n = len(stub.requests)
                    stub.requests.append((time.monotonic(), body, dict(self.headers)))
                status, headers, payload = stub.respond(n, body)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = _QuietServer(("127.0.0.1", port), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def bodies(self):
        with self.lock:
            return [json.loads(body) for _, body, _ in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session", autouse=True)
def real_server():
    try:
        health = http_get("/health")
    except Exception as e:
        pytest.fail("no llm-metrics server at %s (%s): start one and set LLM_METRICS_URL" % (URL, e))
    assert health["status"] == "UP"


@pytest.fixture
def make_client():
    """MetricsClients with quick test settings, closed after the test."""
    made = []

    def make(**settings):
        settings.setdefault("url", URL)
        settings.setdefault("flush_interval", 0.02)
        settings.setdefault("backoff", 0.02)
        settings.setdefault("max_backoff", 0.2)
        client = MetricsClient(**settings)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close(1.0)


@pytest.fixture
def stubs():
    made = []

    def make(respond, port=0):
        stub = Stub(respond, port)
        made.append(stub)
        return stub

    yield make
    for stub in made:
        stub.close()


def dict_response(prompt, completion, total=None, cached=None, reasoning=None, tool_calls=None):
    usage = {"prompt_tokens": prompt, "completion_tokens": completion,
             "total_tokens": prompt + completion if total is None else total}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    message = {"role": "assistant", "content": "hi", "tool_calls": tool_calls}
    return {"id": "chatcmpl-1", "model": "gpt-4o-2024-08-06", "usage": usage,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}


def sdk_response(prompt, completion, cached=None, reasoning=None, tool_calls=None):
    """Shaped like openai's ChatCompletion: attributes, details objects that may be None."""
    ns = types.SimpleNamespace
    usage = ns(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
               prompt_tokens_details=None if cached is None else ns(cached_tokens=cached, audio_tokens=None),
               completion_tokens_details=None if reasoning is None else ns(reasoning_tokens=reasoning))
    message = ns(role="assistant", content=None if tool_calls else "hello", tool_calls=tool_calls)
    return ns(id="chatcmpl-2", model="gpt-4o-mini-2024-07-18", object="chat.completion", usage=usage,
              choices=[ns(index=0, message=message, finish_reason="tool_calls" if tool_calls else "stop")])


def assert_accounted(stats):
    """Everything published was sent, dropped, rejected or found invalid, and nothing is pending."""
    assert stats["pending"] == 0, stats
    assert stats["published"] == stats["sent"] + stats["dropped"] + stats["rejected"] + stats["invalid"], stats
    assert stats["errors"] == 0, stats


# ---------------------------------------------------------------------------------------------- the module

def test_module_is_python_3_9_and_standard_library_only():
    path = os.path.join(HERE, "llm_metrics.py")
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path, feature_version=(3, 9))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for annotation in [a.annotation for a in node.args.args] + [node.returns]:
                if annotation is not None:
                    assert not any(isinstance(n, ast.BinOp) for n in ast.walk(annotation)), \
                        "X | Y annotations need Python 3.10: " + node.name
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


# ---------------------------------------------------------------------------------------------- events arrive exactly

def test_dict_responses_arrive_exactly(make_client):
    client = make_client()
    sid = new_session("dict")
    responses = [dict_response(100, 20, cached=60, reasoning=5),
                 dict_response(50, 10, tool_calls=[{"id": "call_1", "type": "function"}]),
                 dict_response(7, 3, total=11)]
    for response in responses:
        returned = client.track(sid, "gpt-4o", lambda: response, messages=[{"role": "user"}] * 3, tools=[{}])
        assert returned is response
    assert client.flush(5)
    s = session(sid)
    assert s["total_requests"] == 3 and s["successful_requests"] == 3 and s["failed_requests"] == 0
    assert s["total_prompt_tokens"] == 157 and s["total_completion_tokens"] == 33
    assert s["total_tokens"] == 120 + 60 + 11, "the provider's total_tokens is sent as given"
    assert s["requests_with_tools"] == 1
    assert s["total_cached_tokens"] == 60 and s["total_reasoning_tokens"] == 5
    assert [r["model"] for r in s["requests"]] == ["gpt-4o"] * 3, "the model the caller named, not response.model"
    stats = client.stats()
    assert stats["sent"] == 6 and stats["malformed"] == 0
    assert_accounted(stats)


def test_sdk_object_responses_arrive_exactly(make_client):
    client = make_client()
    sid = new_session("sdk")
    tool_call = types.SimpleNamespace(id="call_9", type="function",
                                      function=types.SimpleNamespace(name="search", arguments="{}"))
    responses = [sdk_response(1200, 300, cached=1024, reasoning=128),
                 sdk_response(80, 15, tool_calls=[tool_call]),
                 sdk_response(40, 4)]
    for response in responses:
        assert client.track(sid, "gpt-4o-mini", lambda: response, messages=["a", "b"]) is response
    assert client.flush(5)
    s = session(sid)
    assert s["total_requests"] == 3 and s["successful_requests"] == 3
    assert s["total_prompt_tokens"] == 1320 and s["total_completion_tokens"] == 319
    assert s["total_cached_tokens"] == 1024 and s["total_reasoning_tokens"] == 128
    assert s["requests_with_tools"] == 1
    assert [r["has_tool_calls"] for r in s["requests"]] == [False, True, False]
    assert_accounted(client.stats())


def test_streamed_call_records_time_to_first_token(make_client):
    client = make_client()
    sid = new_session("stream")
    ns = types.SimpleNamespace

    def chunk(content=None, role=None):
        return ns(choices=[ns(index=0, delta=ns(role=role, content=content, tool_calls=None))], usage=None)

    chunks = [chunk(role="assistant", content=""), chunk("Hel"), chunk("lo"),
              ns(choices=[], usage=ns(prompt_tokens=42, completion_tokens=2, total_tokens=44,
                                      prompt_tokens_details=ns(cached_tokens=0),
                                      completion_tokens_details=ns(reasoning_tokens=0)))]

    def stream():
        time.sleep(0.03)
        yield chunks[0]
        time.sleep(0.12)  # the first token comes with the second chunk
        yield chunks[1]
        time.sleep(0.05)
        yield chunks[2]
        yield chunks[3]

    seen = list(client.track_stream(sid, "gpt-4o", stream, messages=[1]))
    assert seen == chunks, "the chunks come through unchanged"
    assert client.flush(5)
    (record,) = session(sid)["requests"]
    print("\nstreamed: time to first token %d ms of %d ms" % (record["time_to_first_token_ms"], record["duration_ms"]))
    assert 150 <= record["time_to_first_token_ms"] < record["duration_ms"]
    assert record["duration_ms"] >= 200
    assert record["prompt_tokens"] == 42 and record["completion_tokens"] == 2 and record["success"]
    assert_accounted(client.stats())


def test_stream_left_early_is_recorded_when_closed(make_client):
    client = make_client()
    sid = new_session("stream-early")

    def stream():
        time.sleep(0.05)
        for i in range(100):
            yield {"choices": [{"delta": {"content": "t%d" % i}}]}

    with client.track_stream(sid, "gpt-4o", stream) as tracked:
        for n, _ in enumerate(tracked):
            if n == 2:
                break
    assert client.flush(5)
    (record,) = session(sid)["requests"]
    assert record["success"] and record["time_to_first_token_ms"] >= 50
    assert_accounted(client.stats())


def test_failing_call_reraises_the_callers_exception_and_records_failed(make_client):
    client = make_client()
    sid = new_session("fail")

    class ProviderDown(Exception):
        pass

    error = ProviderDown("rate limited\nretry in 20s")

    def call():
        time.sleep(0.03)
        raise error

    with pytest.raises(ProviderDown) as raised:
        client.track(sid, "gpt-4o", call, messages=[1, 2])
    assert raised.value is error, "the very exception object"
    assert raised.traceback[-1].name == "call", "with its traceback to where it was raised"

    def broken_stream():
        yield {"choices": [{"delta": {"content": "partial"}}]}
        raise ConnectionError("stream cut")

    with pytest.raises(ConnectionError, match="stream cut"):
        for _ in client.track_stream(sid, "gpt-4o", broken_stream):
            pass

    with pytest.raises(TimeoutError):
        client.track_stream(sid, "gpt-4o", lambda: (_ for _ in ()).throw(TimeoutError("no stream")))

    assert client.flush(5)
    s = session(sid)
    assert s["total_requests"] == 3 and s["failed_requests"] == 3 and s["successful_requests"] == 0
    errors = [r["error"] for r in s["requests"]]
    assert errors[0] == "ProviderDown: rate limited\nretry in 20s"
    assert errors[1] == "ConnectionError: stream cut"
    assert errors[2] == "TimeoutError: no stream"
    assert s["requests"][0]["duration_ms"] >= 30
    assert_accounted(client.stats())


def test_context_manager_and_async_calls(make_client):
    client = make_client()
    sid = new_session("ctx")
    with client.start(sid, "gpt-4o", messages=[1], tools=[1, 2]) as call:
        call.complete(dict_response(10, 2))
    with pytest.raises(KeyError):
        with client.start(sid, "gpt-4o"):
            raise KeyError("missing")
    with client.start(sid, "gpt-4o") as call:
        call.complete(prompt_tokens=5, completion_tokens=1)

    async def create():
        await asyncio.sleep(0.01)
        return sdk_response(30, 3)

    async def astream():
        await asyncio.sleep(0.02)
        yield {"choices": [{"delta": {"content": "a"}}]}
        yield {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 1}}

    async def main():
        response = await client.atrack(sid, "gpt-4o", create)
        assert response.usage.prompt_tokens == 30
        stream = await client.atrack_stream(sid, "gpt-4o", astream)
        return [c async for c in stream]

    assert len(asyncio.run(main())) == 2
    assert client.flush(5)
    s = session(sid)
    assert s["total_requests"] == 5 and s["failed_requests"] == 1
    assert s["total_prompt_tokens"] == 10 + 5 + 30 + 9
    assert s["requests"][-1]["time_to_first_token_ms"] >= 20
    assert_accounted(client.stats())


def test_an_async_generator_stream_left_early_is_closed_by_the_block(make_client):
    client = make_client()
    sid = new_session("aclose")
    closed = []

    async def astream():
        try:
            yield {"choices": [{"delta": {"content": "a"}}]}
            yield {"choices": [{"delta": {"content": "b"}}]}
        finally:
            closed.append(True)

    async def main():
        async with await client.atrack_stream(sid, "gpt-4o", astream) as stream:
            async for _ in stream:
                break
        return list(closed)  # before asyncio.run finalizes what is left open

    assert asyncio.run(main()) == [True]
    assert client.flush(5)
    assert session(sid)["total_requests"] == 1
    assert_accounted(client.stats())


def test_malformed_responses_and_odd_ids_never_raise(make_client):
    client = make_client()
    sid = new_session("odd")

    class Exploding:
        @property
        def usage(self):
            raise RuntimeError("no usage for you")

        choices = property(lambda self: 1 / 0)

    class NoLength:
        def __len__(self):
            raise TypeError("no len")

    odd = [None, 42, "text", Exploding(), {"usage": None}, {"usage": {"prompt_tokens": "many", "completion_tokens": -5}},
           {"usage": {"prompt_tokens": True, "completion_tokens": float("nan")}}, {"choices": 5, "usage": []},
           {"usage": {"prompt_tokens": 10, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 50},
                      "completion_tokens_details": {"reasoning_tokens": 9}}},
           {"usage": {"prompt_tokens": 2 ** 40, "completion_tokens": 1, "total_tokens": -3}}]
    for response in odd:
        assert client.track(sid, "gpt-4o", lambda: response, messages=NoLength(), tools=object()) is response
    # Ids the server would refuse as given: control characters, a lone surrogate, too long.
    tag = uuid.uuid4().hex[:6]  # 6 characters, 6 UTF-16 units
    odd_ids = [tag + "ctl\x00\x1b\x9f id", tag + "lone \ud800 surrogate", tag + "x" * 300, tag + "\U0001F600" * 200]
    for odd_id in odd_ids:
        assert client.track(odd_id, "model\nwith newline", lambda: 1) == 1
    for blank in (None, "", "   "):
        assert client.track(blank, "gpt-4o", lambda: "still runs") == "still runs"
    assert client.flush(5)
    stats = client.stats()
    assert stats["rejected"] == 0, "every event was made acceptable to the server"
    assert stats["invalid"] == 6, "the calls without a session id: STARTED and COMPLETED each"
    assert stats["malformed"] >= 6 + len(odd_ids)
    assert_accounted(stats)
    s = session(sid)
    assert s["total_requests"] == len(odd) and s["successful_requests"] == len(odd)
    last = s["requests"][-2:]
    assert last[0]["cached_tokens"] == 10 and last[0]["reasoning_tokens"] == 2, "parts clamped to their whole"
    assert last[1]["prompt_tokens"] == 2 ** 31 - 1 and last[1]["total_tokens"] == 0
    assert session(tag + "ctl" + " " * 4 + "id")["total_requests"] == 1, "control characters became spaces"
    assert session(tag + "lone \ufffd surrogate")["total_requests"] == 1
    assert session(tag + "x" * 250)["total_requests"] == 1, "cut at 256 characters"
    assert session(tag + "\U0001F600" * 125)["total_requests"] == 1, "cut at 256 UTF-16 units, between characters"


def test_faults_of_the_client_itself_never_reach_the_caller(make_client, monkeypatch):
    client = make_client()

    def boom(*args, **kwargs):
        raise RuntimeError("bug in llm_metrics")

    monkeypatch.setattr(llm_metrics, "_uuid4", boom)
    assert client.track("s", "m", lambda: "answer") == "answer"
    monkeypatch.undo()
    monkeypatch.setattr(client, "_offer", boom)
    assert client.track("s", "m", lambda: "answer") == "answer"
    with pytest.raises(ValueError, match="caller's"):
        client.track("s", "m", lambda: (_ for _ in ()).throw(ValueError("the caller's own")))
    assert client.publish({"type": "X"}) is False
    assert client.stats()["errors"] >= 4


def test_generic_events_and_an_invalid_event_in_a_batch(make_client):
    client = make_client(batch_size=1000, flush_interval=30)
    sid = new_session("generic")
    assert client.publish({"type": "TOOL_CALL_STARTED", "session_id": sid, "attributes": {"tool": "search"}})
    assert client.publish({"type": "LLM_REQUEST_STARTED", "session_id": sid, "model": "m", "surprise": 1})
    assert client.publish("not an event") is False
    client.track(sid, "gpt-4o", lambda: dict_response(3, 1))
    assert client.flush(5)
    stats = client.stats()
    assert stats["rejected"] == 1, "only the invalid event; the rest of its batch was sent again"
    assert stats["sent"] == 3 and stats["invalid"] == 1
    assert_accounted(stats)
    s = session(sid)
    assert s["total_requests"] == 1 and s["total_prompt_tokens"] == 3


def test_scores_arrive_before_and_after_their_call_and_for_the_session(make_client):
    client = make_client()
    sid = new_session("score")
    call = client.start(sid, "gpt-4o", messages=[{"role": "user"}])
    assert call.score("guardrail", True, comment="no PII\nfound")  # before the call finished
    call.complete(dict_response(10, 5))
    assert call.score("helpfulness", 0.5)
    assert client.score(sid, "helpfulness", 1, correlation_id=call.correlation_id)
    assert client.score(sid, "session_rating", 4)
    assert client.score(sid, "not a name", 1) is False
    assert client.score(sid, "grade", -1) is False
    assert client.score(sid, "grade", float("nan")) is False
    assert client.score(None, "grade", 1) is False
    assert client.score(sid, "grade", 10 ** 400) is False  # past a float's range: invalid, not a fault of the client
    assert client.flush(5)
    stats = client.stats()
    assert stats["invalid"] == 5 and stats["rejected"] == 0
    assert_accounted(stats)
    s = session(sid)
    assert s["total_requests"] == 1
    scores = s["requests"][0]["scores"]
    assert [(x["name"], x["value"]) for x in scores] == [("guardrail", 1.0), ("helpfulness", 0.5), ("helpfulness", 1.0)]
    assert scores[0]["comment"] == "no PII\nfound"
    summary = {x["name"]: x for x in s["scores"]}
    assert summary["helpfulness"]["count"] == 2 and summary["helpfulness"]["mean"] == 0.75
    assert summary["session_rating"] == {"name": "session_rating", "count": 1, "mean": 4.0, "min": 4.0, "max": 4.0}


# ---------------------------------------------------------------------------------------------- the server down

def test_server_down_10000_calls_cost_the_caller_nothing(make_client):
    calls = 10000
    response = sdk_response(100, 20, cached=10)

    def llm_call():
        return response

    start = time.perf_counter()
    for _ in range(calls):
        llm_call()
    without = time.perf_counter() - start

    client = make_client(url="http://127.0.0.1:%d" % free_port(), max_retries=2)
    start = time.perf_counter()
    for i in range(calls):
        assert client.track("down-%d" % (i % 50), "gpt-4o", llm_call, messages=[1, 2, 3]) is response
    with_client = time.perf_counter() - start
    print("\n%d calls with the server down: %.3f s with the client (%.1f us a call), %.3f s without it"
          % (calls, with_client, with_client / calls * 1e6, without))
    assert with_client < 2.0
    assert wait_until(lambda: client.stats()["failures"] >= 1, 5)
    stats = client.stats()
    assert stats["published"] == 2 * calls
    assert stats["dropped"] >= 2 * calls - client.queue_size - client.batch_size, "the queue filled, then dropped"
    start = time.perf_counter()
    client.close(0.5)
    closing = time.perf_counter() - start
    assert closing < 1.0
    assert wait_until(lambda: client.stats()["pending"] == 0, 2)
    stats = client.stats()
    print("close took %.3f s; stats %s" % (closing, stats))
    assert stats["sent"] == 0 and stats["dropped"] == 2 * calls
    assert_accounted(stats)


def test_queue_full_drops_new_events_and_counts_them(make_client):
    client = make_client(url="http://127.0.0.1:%d" % free_port(), queue_size=10, batch_size=1000, flush_interval=30)
    for _ in range(25):
        client.track("s", "m", lambda: None)
    stats = client.stats()
    assert stats["queued"] == 10 and stats["dropped"] == 40 and stats["pending"] == 10
    client.close(0.3)
    assert wait_until(lambda: client.stats()["pending"] == 0, 2)
    assert client.stats()["dropped"] == 50


def test_slow_server_times_out_and_the_caller_never_waits(make_client, stubs):
    def slow(n, body):
        time.sleep(1.0)
        return accepted(len(json.loads(body)))

    stub = stubs(slow)
    client = make_client(url=stub.url, read_timeout=0.2, connect_timeout=0.5, max_retries=1, batch_size=100,
                         flush_interval=30)
    slowest = 0.0
    for _ in range(20):
        start = time.perf_counter()
        client.track("slow", "gpt-4o", lambda: dict_response(1, 1))
        slowest = max(slowest, time.perf_counter() - start)
    assert slowest < 0.05, "a call never waits for the server"
    start = time.perf_counter()
    assert client.flush(5)
    print("\nslow server: batch given up after %.2f s (two attempts of 0.2 s); slowest call %.1f ms"
          % (time.perf_counter() - start, slowest * 1000))
    stats = client.stats()
    assert stats["timeouts"] == 2 and stats["failures"] == 2 and stats["retries"] == 1
    assert stats["dropped"] == 40 and stats["sent"] == 0
    assert_accounted(stats)


def test_a_server_that_trickles_its_answer_is_given_up_within_the_read_timeout(make_client):
    """Each byte comes within the read timeout, the whole answer never: the exchange is cut at that timeout."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle(conn):
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 202 Accepted\r\nX-Slow: " + b"a" * 1000:
                if stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.05)

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        client = make_client(url="http://127.0.0.1:%d" % listener.getsockname()[1], read_timeout=0.3,
                             max_retries=1, batch_size=100, flush_interval=30)
        client.track("trickle", "gpt-4o", lambda: dict_response(1, 1))
        start = time.perf_counter()
        assert client.flush(5)
        took = time.perf_counter() - start
        assert took < 2.0, "two attempts of 0.3 s and a backoff, not an endless read: %.2f s" % took
        stats = client.stats()
        assert stats["timeouts"] == 2 and stats["sent"] == 0, stats
        assert_accounted(stats)
    finally:
        stop.set()
        listener.close()


def test_503_is_retried_until_202(make_client, stubs):
    def unavailable_twice(n, body):
        if n < 2:
            return 503, [], b'{"error":"store_unavailable","detail":"retry later"}'
        status, answer = forward(body)
        return status, [], answer

    stub = stubs(unavailable_twice)
    client = make_client(url=stub.url, batch_size=1000, flush_interval=30)
    sid = new_session("503")
    for i in range(3):
        client.track(sid, "gpt-4o", lambda: dict_response(10, 1))
    assert client.flush(5)
    stats = client.stats()
    assert stats["retries"] == 2 and stats["failures"] == 2 and stats["sent"] == 6 and stats["duplicates"] == 0
    assert_accounted(stats)
    bodies = stub.bodies()
    assert len(bodies) == 3 and bodies[0] == bodies[1] == bodies[2], "the same batch, same event ids, each time"
    assert session(sid)["total_requests"] == 3


def test_a_lost_answer_is_retried_and_applied_once(make_client, stubs):
    """The real server applies the batch, its answer is lost (503 to the client), the client sends the same
    batch again: the server recognises the event ids and applies nothing twice."""
    def answer_lost_once(n, body):
        status, answer = forward(body)
        if n == 0:
            assert status == 202
            return 503, [], b'{"error":"shutting_down","detail":"the server is shutting down"}'
        return status, [], answer

    stub = stubs(answer_lost_once)
    client = make_client(url=stub.url, batch_size=1000, flush_interval=30)
    sid = new_session("lost")
    for prompt in (100, 200, 300):
        client.track(sid, "gpt-4o", lambda: dict_response(prompt, 10))
    assert client.flush(5)
    stats = client.stats()
    assert stats["retries"] == 1 and stats["sent"] == 6 and stats["duplicates"] == 6
    assert_accounted(stats)
    s = session(sid)
    assert s["total_requests"] == 3 and s["total_prompt_tokens"] == 600, "applied once, not twice"
    assert len(stub.requests) == 2 and stub.requests[0][1] == stub.requests[1][1]


def test_retry_after_is_honoured(make_client, stubs):
    def busy_once(n, body):
        if n == 0:
            return 429, [("Retry-After", "1")], b'{"error":"busy"}'
        return accepted(len(json.loads(body)))

    stub = stubs(busy_once)
    client = make_client(url=stub.url, backoff=0.01, max_backoff=5, flush_interval=30)
    client.track("s", "m", lambda: None)
    assert client.flush(5)
    gap = stub.requests[1][0] - stub.requests[0][0]
    assert 0.95 <= gap < 2.5, gap
    assert client.stats()["sent"] == 2
    future = time.time() + 3
    from email.utils import formatdate
    assert 1 <= llm_metrics._parse_retry_after(formatdate(future, usegmt=True)) <= 3
    assert llm_metrics._parse_retry_after("soon") is None


def test_client_errors_are_not_retried_and_logged_once(make_client, stubs, caplog):
    stub = stubs(lambda n, body: (400, [], b'{"error":"malformed_json","detail":"nope"}'))
    client = make_client(url=stub.url, batch_size=2, flush_interval=0.5)
    with caplog.at_level(logging.WARNING, logger="llm_metrics"):
        for _ in range(3):
            client.track("s", "m", lambda: None)
        assert client.flush(5)
    stats = client.stats()
    assert stats["rejected"] == 6 and stats["retries"] == 0 and stats["failures"] == 0
    assert len(stub.requests) == 3
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 1
    assert_accounted(stats)


def test_a_wrong_token_is_rejected_not_retried(make_client, stubs, caplog):
    if TOKEN:
        url = URL  # the real server, which wants a token
    else:
        url = stubs(lambda n, body: (401, [], b'{"error":"unauthorized","detail":"x-internal-auth"}')).url
    client = make_client(url=url, token="not-the-token")
    with caplog.at_level(logging.WARNING, logger="llm_metrics"):
        client.track("s", "m", lambda: None)
        assert client.flush(5)
    stats = client.stats()
    assert stats["rejected"] == 2 and stats["retries"] == 0
    assert any("LLM_METRICS_AUTH_TOKEN" in r.getMessage() for r in caplog.records)


def test_a_token_read_from_a_file_with_its_line_feed_is_sent_without_it(make_client, stubs, caplog):
    # open(path).read() keeps the final line feed, which http.client refuses in a header: every event used to be
    # dropped as an internal error of the client. The server trims its own token; so does the client.
    stub = stubs(lambda n, body: accepted(len(json.loads(body))))
    client = make_client(url=stub.url, token=" t0k\n")
    client.track("s", "m", lambda: None)
    assert client.flush(5)
    assert [headers.get("x-internal-auth") for _, _, headers in stub.requests] == ["t0k"]
    assert_accounted(client.stats())
    with caplog.at_level(logging.WARNING, logger="llm_metrics"):
        inner = make_client(url=stub.url, token="t0k\r\nx-evil: 1")
        assert make_client(url=stub.url, token="\u201ct0k\u201d").token is None  # curly quotes from a copy
    assert inner.token is None and any("control character" in r.getMessage() for r in caplog.records)
    inner.track("s", "m", lambda: None)
    assert inner.flush(5)
    assert "x-internal-auth" not in stub.requests[-1][2] and "x-evil" not in stub.requests[-1][2]
    assert_accounted(inner.stats())


def test_the_valid_events_of_a_large_batch_mostly_invalid_are_still_sent(make_client, stubs):
    # The server lists every invalid event of a batch: 900 of 1000 make an answer of about 90 KB, which the client
    # used to cut at 64 KiB, so that it could not read the list and rejected the whole batch, valid events too.
    def mostly_invalid(n, body):
        events = json.loads(body)
        bad = [i for i, e in enumerate(events) if e.get("bad")]
        if not bad:
            return accepted(len(events))
        problems = [{"index": i, "field": "duration_ms", "reason": "duration_ms must be a whole number from 0 to "
                                                                  "86400000"} for i in bad]
        return 400, [], json.dumps({"error": "invalid_events", "detail": "%d of %d events are invalid; none was "
                                    "applied" % (len(bad), len(events)), "errors": problems}).encode()

    stub = stubs(mostly_invalid)
    client = make_client(url=stub.url, batch_size=1000, flush_interval=30)
    for i in range(1000):
        client.publish({"type": "TOOL_CALL_STARTED", "session_id": "s", "bad": i % 10 != 0})
    assert client.flush(10)
    stats = client.stats()
    assert stats["sent"] == 100 and stats["rejected"] == 900, stats
    assert len(stub.requests[0][1]) > 0 and [len(b) for b in stub.bodies()] == [1000, 100]
    assert_accounted(stats)


def test_a_batch_too_large_is_split(make_client, stubs):
    def small_batches_only(n, body):
        events = json.loads(body)
        if len(events) > 3:
            return 413, [], b'{"error":"batch_too_large","detail":"at most 3"}'
        return accepted(len(events))

    stub = stubs(small_batches_only)
    client = make_client(url=stub.url, batch_size=10, flush_interval=30)
    for _ in range(5):
        client.track("s", "m", lambda: None)
    assert client.flush(5)
    stats = client.stats()
    assert stats["sent"] == 10 and stats["rejected"] == 0
    assert sum(len(b) for b in stub.bodies() if len(b) <= 3) == 10


def test_batches_carry_event_ids_and_respect_the_batch_size(make_client, stubs):
    stub = stubs(lambda n, body: accepted(len(json.loads(body))))
    client = make_client(url=stub.url, token="t0k", batch_size=7, flush_interval=30)
    for i in range(10):
        client.track("s", "gpt-4o", lambda: dict_response(i, 1))
    assert client.flush(5)
    bodies = stub.bodies()
    assert [len(b) for b in bodies] == [7, 7, 6]
    assert all(headers.get("x-internal-auth") == "t0k" for _, _, headers in stub.requests)
    events = [e for b in bodies for e in b]
    ids = [e["event_id"] for e in events]
    assert len(set(ids)) == 20 and all(uuid.UUID(i).version == 4 for i in ids)
    assert all(datetime.fromisoformat(e["timestamp"]).tzinfo is not None for e in events)
    for started, completed in zip(events[0::2], events[1::2]):
        assert started["type"] == "LLM_REQUEST_STARTED" and completed["type"] == "LLM_REQUEST_COMPLETED"
        assert started["correlation_id"] == completed["correlation_id"]


def test_a_restarted_server_gets_the_queued_events(make_client, stubs):
    port = free_port()
    client = make_client(url="http://127.0.0.1:%d" % port, max_retries=100, backoff=0.05, max_backoff=0.2)
    sid = new_session("restart")
    for _ in range(5):
        client.track(sid, "gpt-4o", lambda: dict_response(20, 2))
    assert wait_until(lambda: client.stats()["failures"] >= 2, 5), "the server is down: attempts fail"

    def relay(n, body):
        status, answer = forward(body)
        return status, [], answer

    stubs(relay, port=port)  # the server is back
    assert client.flush(5)
    stats = client.stats()
    assert stats["sent"] == 10 and stats["dropped"] == 0 and stats["failures"] >= 2
    assert_accounted(stats)
    s = session(sid)
    assert s["total_requests"] == 5 and s["total_prompt_tokens"] == 100


# ---------------------------------------------------------------------------------------------- short scripts, settings

SCRIPT = """
import sys
sys.path.insert(0, %r)
from llm_metrics import MetricsClient
metrics = MetricsClient(flush_interval=30)
for i in range(3):
    metrics.track(sys.argv[1], "gpt-4o", lambda: {"usage": {"prompt_tokens": 5, "completion_tokens": 1}})
""" % HERE


def run_script(session_id, **env):
    environment = dict(os.environ, **env)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", SCRIPT, session_id], env=environment, capture_output=True,
                            text=True, timeout=30)
    return result, time.perf_counter() - start


def test_a_short_script_delivers_at_exit_without_close():
    sid = new_session("atexit")
    result, took = run_script(sid)
    assert result.returncode == 0, result.stderr
    s = session(sid)
    assert s is not None and s["total_requests"] == 3, "sent by the atexit hook"


def test_a_short_script_exits_promptly_when_the_server_is_down():
    result, took = run_script("s", LLM_METRICS_URL="http://127.0.0.1:%d" % free_port(), LLM_METRICS_EXIT_TIMEOUT="0.5")
    print("\nscript with the server down exited in %.2f s" % took)
    assert result.returncode == 0, result.stderr
    assert took < 5


def test_settings_come_from_arguments_then_environment(monkeypatch):
    monkeypatch.setenv("LLM_METRICS_URL", "http://example.invalid:9/base/")
    monkeypatch.setenv("LLM_METRICS_AUTH_TOKEN", "from-env")
    monkeypatch.setenv("LLM_METRICS_BATCH_SIZE", "5000")
    monkeypatch.setenv("LLM_METRICS_QUEUE_SIZE", "lots")
    monkeypatch.setenv("LLM_METRICS_FLUSH_INTERVAL", "0.25")
    monkeypatch.setenv("LLM_METRICS_READ_TIMEOUT", "nan")
    client = MetricsClient()
    try:
        assert client.url == "http://example.invalid:9/base/" and client.token == "from-env"
        assert client._target.path == "/base/events"
        assert client.batch_size == 1000, "at most what the server takes in one request"
        assert client.queue_size == 10000 and client.read_timeout == 2.0, "bad values fall back to the defaults"
        assert client.flush_interval == 0.25
    finally:
        client.close(0)
    client = MetricsClient(url="nonsense", token="arg", batch_size=0, queue_size="12", connect_timeout=-1)
    try:
        assert client.token == "arg" and client.batch_size == 1 and client.queue_size == 12
        assert client.connect_timeout > 0
        assert client.track("s", "m", lambda: 7) == 7, "a client with an unusable URL still runs the calls"
        assert client.flush(2)
        assert client.stats()["dropped"] == 2
    finally:
        client.close(0)
    monkeypatch.setenv("LLM_METRICS_ENABLED", "false")
    client = MetricsClient()
    try:
        assert client.track("s", "m", lambda: 8) == 8
        assert client.stats()["queued"] == 0 and client._worker is None
    finally:
        client.close(0)


def test_flush_and_close_for_short_scripts(make_client):
    client = make_client()
    sid = new_session("close")
    client.track(sid, "gpt-4o", lambda: dict_response(1, 1))
    assert client.close(5) is True
    assert session(sid)["total_requests"] == 1
    assert client.track(sid, "gpt-4o", lambda: "after close") == "after close"
    stats = client.stats()
    assert stats["sent"] == 2 and stats["dropped"] == 2
    assert client.close(1) is True and client.flush(1) is True
