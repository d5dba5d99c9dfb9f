"""llm_metrics: record LLM calls on an llm-metrics server, without ever hurting the application.

Standard library only, Python 3.9 or newer. Copy this one file next to your code.

    from llm_metrics import MetricsClient
    metrics = MetricsClient()  # LLM_METRICS_URL, LLM_METRICS_AUTH_TOKEN
    response = metrics.track("session-1", "gpt-4o-mini",
                             lambda: openai.chat.completions.create(model="gpt-4o-mini", messages=messages),
                             messages=messages)

What it promises:

- The caller's code never sees an exception of this module: not when the server is down, slow, or
  refuses the events, and not when a response has an unexpected shape. Problems are counted
  (``stats()``) and logged once per kind on the ``llm_metrics`` logger. The exception of the call being
  tracked is re-raised unchanged.
- Publishing never blocks: events go to a bounded in-memory queue; when it is full, new events are
  dropped and counted. A daemon thread sends them in batches (JSON arrays) to ``POST /events``.
- Every event carries a fresh ``event_id``, so resending a batch whose answer was lost is safe: the server
  applies an id once. Connection errors, timeouts, 408, 429 and 5xx are retried with exponential backoff
  and jitter (honouring ``Retry-After``), up to ``max_retries`` times; then the batch is dropped and
  counted. Other 4xx answers are not retried: the events are counted as rejected (an invalid event is
  taken out of its batch and the rest resent; a batch too large is split).
"""

import atexit
import collections
import email.utils
import http.client
import json
import logging
import math
import os
import random
import re
import socket
import threading
import time
import weakref
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import urlsplit

__all__ = ["MetricsClient", "Call", "TrackedStream", "AsyncTrackedStream", "__version__"]
__version__ = "1.0.0"

_LOG = logging.getLogger("llm_metrics")

DEFAULT_URL = "http://localhost:8001"
MAX_BATCH = 1000
MAX_BODY_BYTES = 1000 * 1024  # the server takes 1 MiB; keep a margin
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # read of an answer; the server's longest (invalid_events for 1000) is far less
MAX_ID_LENGTH = 256
MAX_ERROR_LENGTH = 4096
MAX_DURATION_MS = 86400000
MAX_COUNT = 2147483647
MAX_SCORE_VALUE = 1000000
MAX_COMMENT_LENGTH = 1024
_SCORE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}\Z")

# Characters the server refuses in ids (Java's ISO control characters) and surrogate code points, which
# cannot be encoded as valid UTF-8/UTF-16.
_BAD_ID_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_TEXT_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

_COUNTERS = ("published", "queued", "sent", "duplicates", "dropped", "rejected", "invalid", "retries",
             "failures", "timeouts", "malformed", "errors", "batches")


def _env(name, default, convert, minimum=None, maximum=None):
    """The setting from the environment variable ``name``, else ``default``; a bad value warns and falls back."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return _setting(name, raw, default, convert, minimum, maximum)


def _setting(name, value, default, convert, minimum=None, maximum=None):
    try:
        result = convert(value)
        if isinstance(result, float) and not math.isfinite(result):
            raise ValueError("not finite")
    except Exception:
        _LOG.warning("llm_metrics: ignoring %s=%r (not a valid %s); using %r", name, value, convert.__name__, default)
        return default
    if minimum is not None and result < minimum:
        result = minimum
    if maximum is not None and result > maximum:
        result = maximum
    return result


def _token(value):
    """The token as a header can carry it: surrounding whitespace (a token read from a file keeps its final line
    feed) taken off, as the server trims its own; ``None`` when empty, or, with a warning, when it holds a control
    character or one past Latin-1, which no header value can (http.client would refuse every request, and every
    event be lost as a fault of the client)."""
    if value is None:
        return None
    token = str(value).strip()
    if not token:
        return None
    if re.search("[^\x20-\x7e\xa0-\xff]", token):
        _LOG.warning("llm_metrics: ignoring the token (it holds a control character or one past Latin-1, which no "
                     "header can carry); the server will refuse the events if it requires one")
        return None
    return token


def _utf16_length(text):
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _truncate(text, limit):
    """``text`` cut to at most ``limit`` UTF-16 units (what the server counts), never inside a character."""
    if len(text) <= limit // 2 or _utf16_length(text) <= limit:
        return text
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:i]
    return text


def _clean_id(value):
    """An id the server accepts (at most 256 characters, no control characters), or ``None``."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if _BAD_ID_CHARS.search(value):
        value = _BAD_ID_CHARS.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else " ", value)
    value = _truncate(value, MAX_ID_LENGTH)
    if not value.strip():
        return None
    return value


def _clean_text(value, limit):
    if not isinstance(value, str):
        value = str(value)
    if _BAD_TEXT_CHARS.search(value):
        value = _BAD_TEXT_CHARS.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else " ", value)
    return _truncate(value, limit)


def _count(value, maximum=MAX_COUNT):
    """A whole number from 0 to ``maximum`` read from ``value``, or ``None`` when it is not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        result = int(value)
    else:
        try:
            result = int(value)  # numpy integers and the like
        except Exception:
            return None
    return min(max(result, 0), maximum)


def _get(obj, name):
    """``obj[name]`` for a mapping, ``obj.name`` otherwise; ``None`` when absent or unreadable."""
    if obj is None:
        return None
    try:
        if isinstance(obj, (dict, Mapping)):
            return obj.get(name)
        return getattr(obj, name, None)
    except Exception:
        return None


def _first(obj, *names):
    for name in names:
        value = _get(obj, name)
        if value is not None:
            return value
    return None


def _size(value):
    if value is None:
        return 0
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    try:
        return len(value)
    except Exception:
        return 0


def _iso(epoch_seconds):
    return datetime.fromtimestamp(epoch_seconds, timezone.utc).isoformat(timespec="milliseconds")


# Ids are random version-4 UUIDs from a private generator seeded from os.urandom (and seeded again in a
# forked child): as unique as uuid.uuid4(), without a system call per id on the caller's path.
_ids = random.Random()
_UUID_VERSION_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_VERSION_SET = (0x4000 << 64) | (0x8000 << 48)


def _uuid4():
    h = "%032x" % ((_ids.getrandbits(128) & _UUID_VERSION_CLEAR) | _UUID_VERSION_SET)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def _elapsed_ms(start, end=None):
    if end is None:
        end = time.monotonic()
    return min(max(int((end - start) * 1000), 0), MAX_DURATION_MS)


def _has_tool_calls(response):
    choices = _get(response, "choices")
    if choices is not None:
        try:
            for choice in list(choices)[:16]:
                message = _first(choice, "message", "delta")
                if _get(message, "tool_calls") or _get(message, "function_call"):
                    return True
        except Exception:
            return False
        return False
    output = _get(response, "output")  # the Responses API
    if output is not None:
        try:
            return any(_get(item, "type") == "function_call" for item in list(output)[:64])
        except Exception:
            return False
    return False


def _usage(usage):
    """(prompt, completion, total, cached, reasoning) read from a usage object or dict; ``None`` when unreadable."""
    if usage is None:
        return None
    prompt = _count(_first(usage, "prompt_tokens", "input_tokens"))
    completion = _count(_first(usage, "completion_tokens", "output_tokens"))
    if prompt is None and completion is None:
        return None
    total = _count(_get(usage, "total_tokens"))
    cached = _count(_get(_first(usage, "prompt_tokens_details", "input_tokens_details"), "cached_tokens"))
    reasoning = _count(_get(_first(usage, "completion_tokens_details", "output_tokens_details"), "reasoning_tokens"))
    return prompt or 0, completion or 0, total, cached, reasoning


class _Target:
    def __init__(self, url):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL: %r" % (url,))
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.path = parts.path.rstrip("/") + "/events"


class Call:
    """One tracked LLM call: made by :meth:`MetricsClient.start`, which published its STARTED event.

    Use it as a context manager, or call :meth:`complete` or :meth:`fail` once; later calls are ignored.
    Leaving the ``with`` block by an exception records the call as failed (the exception propagates);
    leaving it normally without :meth:`complete` records it as completed with no usage. No method raises.
    """

    __slots__ = ("_client", "session_id", "model", "correlation_id", "_start", "_first_token", "_done")

    def score(self, name, value, comment=None):
        """Publishes a score of this call (see :meth:`MetricsClient.score`); before or after it finished."""
        return self._client.score(self.session_id, name, value, correlation_id=self.correlation_id, comment=comment)

    def __init__(self, client, session_id, model, correlation_id):
        self._client = client
        self.session_id = session_id
        self.model = model
        self.correlation_id = correlation_id
        self._start = time.monotonic()
        self._first_token = None
        self._done = False

    @property
    def finished(self):
        return self._done

    def first_token(self):
        """Marks the arrival of the first token of a streamed response (only the first mark counts)."""
        if self._first_token is None:
            self._first_token = time.monotonic()

    def complete(self, response=None, prompt_tokens=None, completion_tokens=None, total_tokens=None,
                 cached_tokens=None, reasoning_tokens=None, has_tool_calls=None):
        """Records the call as completed: usage read from ``response`` (an OpenAI SDK object or a dict of
        the same shape), or from the keyword arguments, which win over the response."""
        try:
            if self._done:
                return
            self._done = True
            end = time.monotonic()
            read = None
            tools = False
            if response is not None:
                read = _usage(_get(response, "usage"))
                tools = _has_tool_calls(response)
            if read is None:
                read = (0, 0, None, None, None)
                if prompt_tokens is None and completion_tokens is None:
                    self._client._count("malformed")
            prompt, completion, total, cached, reasoning = read
            if prompt_tokens is not None:
                prompt = _count(prompt_tokens) or 0
            if completion_tokens is not None:
                completion = _count(completion_tokens) or 0
            if total_tokens is not None:
                total = _count(total_tokens)
            if cached_tokens is not None:
                cached = _count(cached_tokens)
            if reasoning_tokens is not None:
                reasoning = _count(reasoning_tokens)
            if has_tool_calls is not None:
                tools = bool(has_tool_calls)
            duration = _elapsed_ms(self._start, end)
            event = {"type": "LLM_REQUEST_COMPLETED", "duration_ms": duration, "prompt_tokens": prompt,
                     "completion_tokens": completion, "has_tool_calls": tools}
            if total is not None:
                event["total_tokens"] = total
            if cached:
                event["cached_tokens"] = min(cached, prompt)
            if reasoning:
                event["reasoning_tokens"] = min(reasoning, completion)
            if self._first_token is not None:
                event["time_to_first_token_ms"] = min(_elapsed_ms(self._start, self._first_token), duration)
            self._client._publish_call_event(self, event)
        except Exception:
            self._client._internal_error("complete")

    def fail(self, error):
        """Records the call as failed with ``error`` (an exception: its class name and message, or a text)."""
        try:
            if self._done:
                return
            self._done = True
            if isinstance(error, BaseException):
                try:
                    message = str(error)
                except Exception:
                    message = ""
                text = type(error).__name__ + (": " + message if message else "")
            else:
                text = str(error) if error is not None else ""
            if not text.strip():
                text = "unknown error"
            event = {"type": "LLM_REQUEST_FAILED", "error": _clean_text(text, MAX_ERROR_LENGTH),
                     "duration_ms": _elapsed_ms(self._start)}
            self._client._publish_call_event(self, event)
        except Exception:
            self._client._internal_error("fail")

    def _observe_chunk(self, chunk, state):
        """Watches one chunk of a stream: first token, tool calls, usage (the final chunk with
        ``stream_options={"include_usage": True}``)."""
        try:
            if state["first_chunk"] is None:
                state["first_chunk"] = time.monotonic()
            choices = _get(chunk, "choices")
            if choices:
                for choice in list(choices)[:16]:
                    delta = _first(choice, "delta", "message")
                    if _get(delta, "tool_calls") or _get(delta, "function_call"):
                        state["tools"] = True
                        self.first_token()
                    elif _get(delta, "content") or _get(delta, "refusal") or _get(delta, "reasoning_content"):
                        self.first_token()
            elif _get(chunk, "delta") and str(_get(chunk, "type") or "").endswith(".delta"):
                self.first_token()  # Responses API text deltas
            usage = _get(chunk, "usage")
            if usage is None:
                usage = _get(_get(chunk, "response"), "usage")  # Responses API completion event
            read = _usage(usage)
            if read is not None:
                state["usage"] = read
        except Exception:
            self._client._internal_error("stream chunk")

    def _complete_stream(self, state):
        try:
            if self._done:
                return
            if self._first_token is None and state["first_chunk"] is not None:
                self._first_token = state["first_chunk"]
            read = state["usage"]
            if read is None:
                self.complete(prompt_tokens=0, completion_tokens=0, has_tool_calls=state["tools"])
            else:
                prompt, completion, total, cached, reasoning = read
                self.complete(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total,
                              cached_tokens=cached, reasoning_tokens=reasoning, has_tool_calls=state["tools"])
        except Exception:
            self._client._internal_error("stream end")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None:
            self.fail(exc)
        elif not self._done:
            self.complete(prompt_tokens=0, completion_tokens=0)
        return False


def _new_stream_state():
    return {"first_chunk": None, "usage": None, "tools": False}


class TrackedStream:
    """Iterates a streamed response unchanged while recording it: the first chunk with content (or, failing
    that, the first chunk) gives the time to first token, the last chunk carrying usage the tokens. The end
    of the stream, :meth:`close`, or leaving a ``with`` block records COMPLETED; an exception from the
    stream records FAILED and propagates. Other attributes are the wrapped stream's."""

    def __init__(self, call, stream):
        self._call = call
        self._stream = stream
        self._iterator = None
        self._state = _new_stream_state()

    def __iter__(self):
        return self

    def __next__(self):
        try:
            if self._iterator is None:
                self._iterator = iter(self._stream)
            chunk = next(self._iterator)
        except StopIteration:
            self._call._complete_stream(self._state)
            raise
        except BaseException as e:
            self._call.fail(e)
            raise
        self._call._observe_chunk(chunk, self._state)
        return chunk

    def close(self):
        self._call._complete_stream(self._state)
        closer = getattr(self._stream, "close", None)
        if closer is not None:
            closer()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def __getattr__(self, name):
        return getattr(self.__dict__["_stream"], name)

    def __del__(self):
        try:
            self._call._complete_stream(self._state)
        except Exception:
            pass


class AsyncTrackedStream:
    """:class:`TrackedStream` for an async iterator (``AsyncOpenAI`` with ``stream=True``)."""

    def __init__(self, call, stream):
        self._call = call
        self._stream = stream
        self._iterator = None
        self._state = _new_stream_state()

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            if self._iterator is None:
                self._iterator = self._stream.__aiter__()
            chunk = await self._iterator.__anext__()
        except StopAsyncIteration:
            self._call._complete_stream(self._state)
            raise
        except BaseException as e:
            self._call.fail(e)
            raise
        self._call._observe_chunk(chunk, self._state)
        return chunk

    async def close(self):
        self._call._complete_stream(self._state)
        # The SDK's AsyncStream has close(); a plain async generator has aclose().
        closer = getattr(self._stream, "close", None) or getattr(self._stream, "aclose", None)
        if closer is not None:
            result = closer()
            if hasattr(result, "__await__"):
                await result

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        await self.close()
        return False

    def __getattr__(self, name):
        return getattr(self.__dict__["_stream"], name)

    def __del__(self):
        try:
            self._call._complete_stream(self._state)
        except Exception:
            pass


class _Outcome:
    __slots__ = ("status", "retry_after", "body", "timeout", "error")

    def __init__(self, status=None, retry_after=None, body=b"", timeout=False, error=None):
        self.status = status
        self.retry_after = retry_after
        self.body = body
        self.timeout = timeout
        self.error = error


class MetricsClient:
    """Publishes LLM call events to an llm-metrics server from a background thread.

    Every argument falls back to an environment variable, then to a default:

    ========================  ===============================  ============================
    argument                  environment variable             default
    ========================  ===============================  ============================
    ``url``                   ``LLM_METRICS_URL``              ``http://localhost:8001``
    ``token``                 ``LLM_METRICS_AUTH_TOKEN``       none (sent as ``x-internal-auth``)
    ``batch_size``            ``LLM_METRICS_BATCH_SIZE``       100 (1 to 1000 events a request)
    ``queue_size``            ``LLM_METRICS_QUEUE_SIZE``       10000 events waiting, then dropped
    ``flush_interval``        ``LLM_METRICS_FLUSH_INTERVAL``   1.0 s before a partial batch is sent
    ``connect_timeout``       ``LLM_METRICS_CONNECT_TIMEOUT``  2.0 s
    ``read_timeout``          ``LLM_METRICS_READ_TIMEOUT``     2.0 s
    ``max_retries``           ``LLM_METRICS_MAX_RETRIES``      5 retries of a batch, then dropped
    ``backoff``               ``LLM_METRICS_BACKOFF``          0.5 s, doubled at each retry, with jitter
    ``max_backoff``           ``LLM_METRICS_MAX_BACKOFF``      30 s (also caps ``Retry-After``)
    ``exit_timeout``          ``LLM_METRICS_EXIT_TIMEOUT``     2.0 s to deliver what is left at exit
    ``enabled``               ``LLM_METRICS_ENABLED``          true (``0``/``false``: record nothing)
    ========================  ===============================  ============================

    A bad value is logged and replaced by the default; the constructor does not raise.
    """

    def __init__(self, url=None, token=None, batch_size=None, queue_size=None, flush_interval=None,
                 connect_timeout=None, read_timeout=None, max_retries=None, backoff=None, max_backoff=None,
                 exit_timeout=None, enabled=None):
        self._lock = threading.Condition(threading.Lock())
        self._stats = dict.fromkeys(_COUNTERS, 0)
        self._buffer = collections.deque()
        self._in_flight = 0
        self._accepted_seq = 0
        self._done_seq = 0
        self._flush_waiters = 0
        self._closing = False
        self._closed = False
        self._close_deadline = None
        self._wake = threading.Event()
        self._worker = None
        self._pid = os.getpid()
        self._conn = None
        self._warned = set()
        self._target = None

        def pick(name, value, env, default, convert, minimum=None, maximum=None):
            if value is None:
                return _env(env, default, convert, minimum, maximum)
            return _setting(name, value, default, convert, minimum, maximum)

        self.url = str(url if url is not None else os.environ.get("LLM_METRICS_URL") or DEFAULT_URL).strip()
        self.token = _token(token if token is not None else os.environ.get("LLM_METRICS_AUTH_TOKEN"))
        self.batch_size = pick("batch_size", batch_size, "LLM_METRICS_BATCH_SIZE", 100, int, 1, MAX_BATCH)
        self.queue_size = pick("queue_size", queue_size, "LLM_METRICS_QUEUE_SIZE", 10000, int, 1)
        self.flush_interval = pick("flush_interval", flush_interval, "LLM_METRICS_FLUSH_INTERVAL", 1.0, float, 0.0)
        self.connect_timeout = pick("connect_timeout", connect_timeout, "LLM_METRICS_CONNECT_TIMEOUT", 2.0, float, 0.001)
        self.read_timeout = pick("read_timeout", read_timeout, "LLM_METRICS_READ_TIMEOUT", 2.0, float, 0.001)
        self.max_retries = pick("max_retries", max_retries, "LLM_METRICS_MAX_RETRIES", 5, int, 0)
        self.backoff = pick("backoff", backoff, "LLM_METRICS_BACKOFF", 0.5, float, 0.0)
        self.max_backoff = pick("max_backoff", max_backoff, "LLM_METRICS_MAX_BACKOFF", 30.0, float, 0.0)
        self.exit_timeout = pick("exit_timeout", exit_timeout, "LLM_METRICS_EXIT_TIMEOUT", 2.0, float, 0.0)
        if enabled is None:
            enabled = os.environ.get("LLM_METRICS_ENABLED", "true")
        self.enabled = str(enabled).strip().lower() not in ("0", "false", "no", "off")
        try:
            self._target = _Target(self.url)
        except Exception as e:
            _LOG.warning("llm_metrics: %s; events will be dropped", e)
        self._headers = {"Content-Type": "application/json", "User-Agent": "llm-metrics-python/" + __version__}
        if self.token:
            self._headers["x-internal-auth"] = self.token
        _CLIENTS.add(self)

    # ------------------------------------------------------------------ tracking

    def start(self, session_id, model, messages=None, tools=None):
        """Publishes LLM_REQUEST_STARTED and returns the :class:`Call`, to complete or fail once.

        ``messages`` and ``tools`` are the lists sent to the model (only their lengths are sent) or counts.
        ``model`` is the name every event of the call carries (not ``response.model``, which may name a
        snapshot), so that the server's in-flight count of the model goes up and down again.
        """
        try:
            call = Call(self, _clean_id(session_id), _clean_id(model), _uuid4())
            self._publish_call_event(call, {"type": "LLM_REQUEST_STARTED", "messages_count": _size(messages),
                                            "tools_count": _size(tools)})
            return call
        except Exception:
            self._internal_error("start")
            return Call(self, None, None, "")

    def track(self, session_id, model, call, messages=None, tools=None):
        """Runs ``call()`` (the LLM call, e.g. a lambda around ``client.chat.completions.create``), records
        it, and returns its result unchanged; its exception is recorded as FAILED and re-raised unchanged."""
        tracked = self.start(session_id, model, messages, tools)
        try:
            response = call()
        except BaseException as e:
            tracked.fail(e)
            raise
        tracked.complete(response)
        return response

    async def atrack(self, session_id, model, call, messages=None, tools=None):
        """:meth:`track` for ``AsyncOpenAI``: ``call()`` returns an awaitable (e.g. ``lambda: client.chat
        .completions.create(...)``), awaited here."""
        tracked = self.start(session_id, model, messages, tools)
        try:
            response = await call()
        except BaseException as e:
            tracked.fail(e)
            raise
        tracked.complete(response)
        return response

    def track_stream(self, session_id, model, call, messages=None, tools=None):
        """Runs ``call()``, which returns a stream (``stream=True``; add ``stream_options={"include_usage":
        True}`` for the tokens), and returns a :class:`TrackedStream` over it, to iterate as the stream."""
        tracked = self.start(session_id, model, messages, tools)
        try:
            stream = call() if callable(call) else call
        except BaseException as e:
            tracked.fail(e)
            raise
        return TrackedStream(tracked, stream)

    async def atrack_stream(self, session_id, model, call, messages=None, tools=None):
        """:meth:`track_stream` for ``AsyncOpenAI``: ``call()`` returns an awaitable of an async stream."""
        tracked = self.start(session_id, model, messages, tools)
        try:
            stream = call() if callable(call) else call
            if hasattr(stream, "__await__"):
                stream = await stream
        except BaseException as e:
            tracked.fail(e)
            raise
        return AsyncTrackedStream(tracked, stream)

    def score(self, session_id, name, value, correlation_id=None, comment=None):
        """Publishes LLM_REQUEST_SCORED: ``name`` (a letter, then letters, digits, ``_ . : -``, at most 64) =
        ``value`` (a number from 0 to 1000000, or ``True``/``False`` for 1/0) for the call ``correlation_id``
        (``Call.correlation_id``) of ``session_id``, or for the session as a whole without it. It may come
        before the call finished or long after. ``comment`` (why, in words) is cut to 1024 characters.
        Returns whether it was queued; an invalid score is counted as invalid and dropped. Never raises."""
        try:
            session = _clean_id(session_id)
            if isinstance(value, bool):
                value = 1 if value else 0
            # The range first: math.isfinite() of an int past a float's range raises OverflowError.
            valid_value = (isinstance(value, (int, float)) and 0 <= value <= MAX_SCORE_VALUE
                           and math.isfinite(value))
            if session is None or not isinstance(name, str) or not _SCORE_NAME.match(name) or not valid_value:
                self._count_many(published=1, invalid=1)
                self._warn_once("invalid_score", "llm_metrics: an invalid score was dropped (session_id=%r, name=%r, "
                                                 "value=%r)", session_id, name, value)
                return False
            event = {"type": "LLM_REQUEST_SCORED", "session_id": session, "name": name, "value": value}
            correlation = _clean_id(correlation_id)
            if correlation is not None:
                event["correlation_id"] = correlation
            if comment is not None:
                event["comment"] = _clean_text(comment, MAX_COMMENT_LENGTH)
            return self.publish(event)
        except Exception:
            self._internal_error("score")
            return False

    # ------------------------------------------------------------------ publishing

    def publish(self, event):
        """Queues one event (a dict in the server's snake_case shape), adding ``event_id`` and ``timestamp``
        when missing. Returns whether it was queued; never raises, never blocks."""
        try:
            if not isinstance(event, dict):
                self._count_many(published=1, invalid=1)
                return False
            event = dict(event)
            event.setdefault("event_id", None)  # set by the sender, once
            event.setdefault("timestamp", time.time())
            return self._offer(event)
        except Exception:
            self._internal_error("publish")
            return False

    def _publish_call_event(self, call, event):
        if not self.enabled:
            self._count("published")
            return
        if call.session_id is None or call.model is None:
            self._count("published")
            self._count("invalid")
            self._warn_once("invalid", "llm_metrics: an event without a usable session id or model was dropped "
                                       "(session_id=%r, model=%r)", call.session_id, call.model)
            return
        # event_id and the ISO timestamp are made by the sender thread, off the caller's path.
        event["event_id"] = None
        event["session_id"] = call.session_id
        event["model"] = call.model
        event["correlation_id"] = call.correlation_id
        event["timestamp"] = time.time()
        self._offer(event)

    def _offer(self, event):
        with self._lock:
            stats = self._stats
            stats["published"] += 1
            if not self.enabled:
                return False
            if self._closing or self._closed:
                stats["dropped"] += 1
                dropped = "closed"
            elif len(self._buffer) >= self.queue_size:
                stats["dropped"] += 1
                dropped = "queue_full"
            else:
                self._buffer.append(event)
                stats["queued"] += 1
                self._accepted_seq += 1
                size = len(self._buffer)
                if size == 1 or size == self.batch_size:
                    self._lock.notify_all()  # the sender starts its flush interval, or sends a full batch
                dropped = None
            start_worker = self._worker is None
        if dropped == "queue_full":
            self._warn_once(dropped, "llm_metrics: the queue is full (%d events); new events are dropped and "
                                     "counted", self.queue_size)
        elif dropped == "closed":
            self._warn_once(dropped, "llm_metrics: the client is closed; events are dropped and counted")
        if dropped is not None:
            return False
        if start_worker:
            self._start_worker()
        return True

    def _start_worker(self):
        with self._lock:
            if self._worker is not None:
                return
            self._pid = os.getpid()
            worker = threading.Thread(target=self._run, name="llm-metrics-sender", daemon=True)
            self._worker = worker
        worker.start()

    # ------------------------------------------------------------------ flush, close, stats

    def flush(self, timeout=5.0):
        """Waits until every event queued before this call was sent, rejected or dropped, or ``timeout``
        seconds passed; returns whether everything was handled. Never raises."""
        try:
            deadline = time.monotonic() + max(float(timeout), 0.0)
            with self._lock:
                target = self._accepted_seq
                if self._done_seq >= target:
                    return True
                self._flush_waiters += 1
                self._lock.notify_all()
                try:
                    while self._done_seq < target:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0 or self._worker is None:
                            return False
                        self._lock.wait(remaining)
                    return True
                finally:
                    self._flush_waiters -= 1
        except Exception:
            self._internal_error("flush")
            return False

    def close(self, timeout=5.0):
        """Sends what is queued, retrying as usual, for at most ``timeout`` seconds, then drops (and counts)
        what is left and stops the sender. Later events are dropped and counted. Returns whether everything
        was handled. Never raises; calling it again does no harm."""
        try:
            timeout = max(float(timeout), 0.0)
            with self._lock:
                if not self._closing:
                    self._closing = True
                    # The sender aims to be done a little before close() stops waiting for it.
                    self._close_deadline = time.monotonic() + timeout - min(0.1, timeout / 5)
                self._lock.notify_all()
                worker = self._worker
            self._wake.set()
            if worker is not None and worker is not threading.current_thread():
                worker.join(timeout)
            with self._lock:
                self._closed = True
                left = len(self._buffer)
                if left:
                    self._buffer.clear()
                    self._stats["dropped"] += left
                    self._done_seq += left
                    self._lock.notify_all()
                complete = left == 0 and self._in_flight == 0
            if worker is None or not worker.is_alive():
                self._drop_connection()
            return complete
        except Exception:
            self._internal_error("close")
            return False

    def stats(self):
        """The counters, as a new dict:

        ``published`` events offered; ``queued`` accepted into the queue; ``sent`` acknowledged by the
        server (202, duplicates included); ``duplicates`` of those the server had already applied;
        ``dropped`` lost (queue full, client closed, retries exhausted); ``rejected`` refused by the server
        (4xx); ``invalid`` refused here (no session id or model); ``retries`` resends; ``failures`` failed
        requests (connection errors, timeouts, 408, 429, 5xx); ``timeouts`` of those, the timeouts;
        ``malformed`` responses whose usage could not be read (recorded with 0 tokens); ``errors`` faults
        of this module, swallowed; ``batches`` requests answered 202; ``pending`` events queued or being sent.
        Once everything is handled, ``published == sent + dropped + rejected + invalid`` (when enabled).
        """
        with self._lock:
            result = dict(self._stats)
            result["pending"] = len(self._buffer) + self._in_flight
        return result

    # ------------------------------------------------------------------ the sender thread

    def _run(self):
        while True:
            try:
                with self._lock:
                    batch = self._next_batch()
                    if batch is None:
                        return
                    self._in_flight = len(batch)
                try:
                    self._deliver(batch)
                except Exception:
                    self._internal_error("send")
                    self._count("dropped", len(batch))
                finally:
                    with self._lock:
                        self._in_flight = 0
                        self._done_seq += len(batch)
                        self._lock.notify_all()
            except Exception:
                # Never let the sender die of its own fault; avoid a hot loop.
                self._internal_error("sender")
                time.sleep(0.1)

    def _next_batch(self):
        """Waits (holding the lock) for a batch to send: full, or the flush interval passed, or a flush or
        close asked; ``None`` when closing with nothing left."""
        first_seen = None
        while True:
            size = len(self._buffer)
            if self._closing:
                if size == 0 or time.monotonic() >= self._close_deadline:
                    return None
                break
            if size >= self.batch_size or (size and self._flush_waiters):
                break
            now = time.monotonic()
            if size:
                if first_seen is None:
                    first_seen = now
                remaining = first_seen + self.flush_interval - now
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            else:
                first_seen = None
                self._lock.wait()
        count = min(len(self._buffer), self.batch_size)
        return [self._buffer.popleft() for _ in range(count)]

    def _deliver(self, events):
        encoded = []
        for event in events:
            try:
                if event.get("event_id") is None:
                    event["event_id"] = _uuid4()
                if isinstance(event.get("timestamp"), float):
                    event["timestamp"] = _iso(event["timestamp"])
                encoded.append(json.dumps(event, ensure_ascii=True, allow_nan=False, separators=(",", ":"),
                                          default=str).encode("ascii"))
            except Exception:
                self._count("invalid")
                self._warn_once("unencodable", "llm_metrics: an event that is not JSON was dropped: %r", event)
        group, size = [], 2
        for item in encoded:
            if group and size + len(item) + 1 > MAX_BODY_BYTES:
                self._send(group)
                group, size = [], 2
            group.append(item)
            size += len(item) + 1
        if group:
            self._send(group)

    def _send(self, items):
        """Sends one batch (encoded events) until it is acknowledged, refused, or given up."""
        if self._target is None:
            self._count("dropped", len(items))
            return
        attempt = 0
        refined = False
        body = b"[" + b",".join(items) + b"]"
        while True:
            outcome = self._post(body)
            status = outcome.status
            if status is not None and 200 <= status < 300:
                answer = self._answer(outcome.body)
                duplicates = _count(_get(answer, "duplicates")) or 0
                self._count_many(sent=len(items), duplicates=min(duplicates, len(items)), batches=1)
                return
            if status == 413 and len(items) > 1:
                half = len(items) // 2
                self._send(items[:half])
                self._send(items[half:])
                return
            if status == 400 and not refined:
                bad = self._invalid_indexes(outcome.body, len(items))
                if bad and len(bad) < len(items):
                    # Nothing of the batch was applied: resend it without the events the server refused.
                    refined = True
                    self._rejected(400, outcome.body, len(bad))
                    items = [item for i, item in enumerate(items) if i not in bad]
                    body = b"[" + b",".join(items) + b"]"
                    continue
            if status is not None and not (status in (408, 429) or 500 <= status < 600):
                self._rejected(status, outcome.body, len(items))
                return
            self._count_many(failures=1, timeouts=1 if outcome.timeout else 0)
            if attempt >= self.max_retries:
                self._count("dropped", len(items))
                self._warn_once("gave_up", "llm_metrics: could not deliver events to %s (%s) after %d retries; "
                                           "dropping them (see stats())", self.url, self._describe(outcome), attempt)
                return
            delay = self._retry_delay(attempt, outcome.retry_after)
            with self._lock:
                closing, deadline = self._closing, self._close_deadline
            if closing and time.monotonic() + 0.02 >= deadline:
                self._count("dropped", len(items))
                return
            self._warn_once("retrying", "llm_metrics: delivering events to %s failed (%s); retrying with backoff",
                            self.url, self._describe(outcome))
            self._pause(delay)
            attempt += 1
            self._count("retries")

    def _pause(self, delay):
        """Sleeps ``delay`` seconds; when closing, only until just before the close deadline."""
        end = time.monotonic() + delay
        while True:
            with self._lock:
                closing, deadline = self._closing, self._close_deadline
            if closing:
                end = min(end, deadline - 0.02)
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            if closing:
                time.sleep(remaining)
                return
            self._wake.wait(remaining)  # close() wakes it, to shorten the pause

    def _retry_delay(self, attempt, retry_after):
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        delay = min(self.max_backoff, self.backoff * (2 ** min(attempt, 30)))
        return delay / 2 + random.uniform(0, delay / 2)

    def _post(self, body):
        if self._target is None:
            return _Outcome(error="no valid URL")
        for fresh_attempt in (False, True):
            conn = self._conn
            reused = conn is not None
            connect_timeout, read_timeout = self._timeouts()
            cut, fired = None, threading.Event()
            try:
                if conn is None:
                    conn = self._connect(connect_timeout)
                    self._conn = conn
                conn.sock.settimeout(read_timeout)
                # The timeout bounds each read; this bounds the whole exchange, which a server sending its
                # answer a byte at a time would otherwise stretch for ever.
                cut = threading.Timer(read_timeout, _shut_down, (conn.sock, fired))
                cut.daemon = True
                cut.start()
                conn.request("POST", self._target.path, body=body, headers=self._headers)
                response = conn.getresponse()
                # The server's answer to a batch of 1000 events, 900 of them invalid, is about 90 KB: read it whole
                # (a bound still, against a server that never stops) so that the invalid ones can be taken out.
                data = response.read(MAX_ANSWER_BYTES)
                status = response.status
                retry_after = _parse_retry_after(response.getheader("Retry-After"))
                cut.cancel()
                cut.join()  # it fired, or it never will
                if fired.is_set():
                    raise TimeoutError("the answer did not arrive whole within the read timeout")
                if response.will_close or not response.isclosed():
                    self._drop_connection()
                return _Outcome(status=status, retry_after=retry_after, body=data)
            except (socket.timeout, TimeoutError) as e:
                self._drop_connection()
                return _Outcome(timeout=True, error=e)
            except (OSError, http.client.HTTPException) as e:
                self._drop_connection()
                if fired.is_set():
                    return _Outcome(timeout=True, error=e)
                # A kept-alive connection the server closed meanwhile: try once more on a new one.
                if reused and not fresh_attempt and isinstance(e, (http.client.RemoteDisconnected,
                                                                   ConnectionResetError, BrokenPipeError)):
                    continue
                return _Outcome(error=e)
            finally:
                if cut is not None:
                    cut.cancel()
        return _Outcome(error="connection lost")

    def _timeouts(self):
        """(connect, read) timeouts of the next attempt: the configured ones, cut to the time left when closing."""
        with self._lock:
            closing, deadline = self._closing, self._close_deadline
        if not closing:
            return self.connect_timeout, self.read_timeout
        left = max(deadline - time.monotonic(), 0.01)
        return min(self.connect_timeout, left), min(self.read_timeout, left)

    def _connect(self, timeout):
        target = self._target
        if target.https:
            import ssl
            conn = http.client.HTTPSConnection(target.host, target.port, timeout=timeout,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
        conn.connect()
        return conn

    def _drop_connection(self):
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    @staticmethod
    def _answer(body):
        try:
            return json.loads(body.decode("utf-8")) if body else None
        except Exception:
            return None

    def _invalid_indexes(self, body, size):
        answer = self._answer(body)
        if _get(answer, "error") != "invalid_events":
            return None
        problems = _get(answer, "errors") or _get(answer, "problems")
        if not isinstance(problems, list):
            return None
        bad = set()
        for problem in problems:
            index = _get(problem, "index")
            if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < size:
                bad.add(index)
        return bad or None

    def _rejected(self, status, body, count):
        self._count("rejected", count)
        detail = body[:300].decode("utf-8", "replace") if body else ""
        hint = ""
        if status == 401:
            hint = " (set LLM_METRICS_AUTH_TOKEN or token= to the server's token)"
        elif status == 404:
            hint = " (is %s an llm-metrics server?)" % self.url
        self._warn_once("status_%s" % status, "llm_metrics: the server refused %d event(s) with %s%s: %s",
                        count, status, hint, detail)

    @staticmethod
    def _describe(outcome):
        if outcome.timeout:
            return "timeout"
        if outcome.status is not None:
            return "HTTP %d" % outcome.status
        return "%s" % (outcome.error,)

    # ------------------------------------------------------------------ bookkeeping

    def _count(self, name, amount=1):
        with self._lock:
            self._stats[name] += amount

    def _count_many(self, **amounts):
        with self._lock:
            for name, amount in amounts.items():
                self._stats[name] += amount

    def _internal_error(self, where):
        try:
            self._count("errors")
            self._warn_once("error_" + where, "llm_metrics: internal error in %s (ignored)", where, exc_info=True)
        except Exception:
            pass

    def _warn_once(self, key, message, *args, **kwargs):
        try:
            with self._lock:
                if key in self._warned:
                    return
                self._warned.add(key)
            _LOG.warning(message, *args, **kwargs)
        except Exception:
            pass

    def _after_fork(self):
        """In a forked child: new locks and no sender (threads do not survive a fork); the parent's queued
        events stay the parent's to send."""
        self._lock = threading.Condition(threading.Lock())
        self._wake = threading.Event()
        self._buffer = collections.deque()
        self._in_flight = 0
        self._done_seq = self._accepted_seq
        self._worker = None
        self._conn = None
        self._pid = os.getpid()

    def _at_exit(self):
        if self._worker is not None and self._pid == os.getpid():
            self.close(self.exit_timeout)

    def __repr__(self):
        return "MetricsClient(url=%r, batch_size=%d, queue_size=%d)" % (self.url, self.batch_size, self.queue_size)


def _shut_down(sock, fired):
    """Ends a connection's exchange at once (its blocked reads return, its writes fail), first setting ``fired``."""
    fired.set()
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already


def _parse_retry_after(value):
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)
    except Exception:
        return None


_CLIENTS = weakref.WeakSet()


def _close_all_at_exit():
    for client in list(_CLIENTS):
        try:
            client._at_exit()
        except Exception:
            pass


def _after_fork_in_child():
    _ids.seed()
    for client in list(_CLIENTS):
        try:
            client._after_fork()
        except Exception:
            pass


atexit.register(_close_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
