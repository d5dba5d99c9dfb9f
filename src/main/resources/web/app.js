// llm-metrics web view: reads the JSON endpoints under /events and redraws every few seconds.
// Plain ES2020, no dependency, no build step. Every value from the server goes into the page as text
// (textContent, attributes through the DOM), never as HTML: session ids and errors are untrusted.
'use strict';

(() => {
  const POLL_MS = 2500;
  const SESSION_LIMIT = 100;
  const TOKEN_KEY = 'llm-metrics.token';
  const SVG = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);
  const el = {
    status: $('status'), updated: $('updated'), forget: $('forget-token'),
    auth: $('auth'), token: $('token'), authError: $('auth-error'), dashboard: $('dashboard'),
    window: $('window'), models: $('models'), modelsEmpty: $('models-empty'), modelsCovered: $('models-covered'),
    filter: $('filter'), sessions: $('sessions'), sessionsBody: document.querySelector('#sessions tbody'),
    sessionsCaption: $('sessions-caption'), sessionsEmpty: $('sessions-empty'),
    detail: $('detail'), detailHeading: $('detail-heading'), detailId: $('detail-id'), detailClose: $('detail-close'),
    detailMessage: $('detail-message'), detailFigures: $('detail-figures'), sparkline: $('sparkline'),
    requestsBody: document.querySelector('#requests tbody'), requestsCaption: $('requests-caption'),
  };

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    sort: null,            // {key, dir: 'ascending' | 'descending'}; null: most recently active first
    filter: '',
    sessions: [],
    total: 0,
    tableSignature: null,
    summariesEtag: null,   // the ETag of the page of sessions the table holds: an unchanged page is answered 304, no body
    openSession: null,     // id of the session shown in the dialog
    detailSignature: null,
    detailEtag: null,      // the ETag of the session as drawn: an unchanged session is answered 304, no body
    timer: 0,
    running: false,
    again: false,
  };

  class AuthRequired extends Error {}
  // A successful answer that is not the server's JSON: a page of a proxy in front of it (a login page, say).
  class NotJson extends Error {
    constructor(status, type) {
      super(`HTTP ${status} ${type}`);
      this.status = status;
      this.type = type;
    }
  }
  class HttpError extends Error {
    constructor(status, body) {
      super(body && body.detail ? body.detail : `HTTP ${status}`);
      this.status = status;
      this.detail = body && typeof body.detail === 'string' ? body.detail : '';
    }
  }

  // ---- formatting ----

  const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
  const twoDecimals = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });
  const oneDecimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
  const isNumber = (v) => typeof v === 'number' && Number.isFinite(v);
  const fmtInt = (v) => (isNumber(v) ? integer.format(v) : '—');
  const fmtRate = (v) => {
    if (!isNumber(v)) return '—';
    return (v >= 100 ? integer : v >= 10 ? oneDecimal : twoDecimals).format(v);
  };
  const fmtPct = (ratio) => (isNumber(ratio) ? `${(ratio * 100).toFixed(1)} %` : '—');
  const fmtMs = (ms) => {
    if (!isNumber(ms)) return '—';
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
  };
  const fmtCost = (usd) => {
    if (!isNumber(usd)) return '—';
    if (usd > 0 && usd < 0.00005) return '< $0.0001'; // a cost, however small, never shows as none
    return `$${usd.toFixed(usd !== 0 && usd < 1 ? 4 : 2)}`;
  };
  const fmtTime = (iso) => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString('en-GB', { hour12: false });
  };

  function node(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (className) e.className = className;
    return e;
  }

  function setStatus(text, problem) {
    if (el.status.textContent !== text) el.status.textContent = text; // a live region: only real changes
    el.status.classList.toggle('problem', Boolean(problem));
  }

  // ---- fetching ----

  const NOT_MODIFIED = Symbol('not modified');
  // The characters the server's parameters refuse (Java's ISO control characters), and the page of a filter holding one.
  const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
  const NO_SESSIONS = Object.freeze({ sessions: [], count: 0, total: 0 });

  // The body of a JSON answer; with `etag`, sent as If-None-Match, NOT_MODIFIED when the server answers 304. The
  // answers are no-store, so the page keeps the tag itself (`onEtag` gets the one of a 200).
  async function api(path, etag, onEtag) {
    const headers = { Accept: 'application/json' };
    if (state.token) headers['x-internal-auth'] = state.token;
    if (etag) headers['If-None-Match'] = etag;
    const response = await fetch(path, { headers, cache: 'no-store', credentials: 'same-origin' });
    if (response.status === 401) throw new AuthRequired();
    if (response.status === 304 && etag) return NOT_MODIFIED;
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new HttpError(response.status, body);
    if (body === null || typeof body !== 'object') {
      throw new NotJson(response.status, (response.headers.get('Content-Type') || 'no type').split(';')[0]);
    }
    if (onEtag) onEtag(response.headers.get('ETag'));
    return body;
  }

  function schedule(delay) {
    clearTimeout(state.timer);
    state.timer = setTimeout(refresh, delay);
  }

  async function refresh() {
    if (state.running) {          // one refresh at a time; a request for another runs right after
      state.again = true;
      return;
    }
    state.running = true;
    let next = POLL_MS;
    try {
      if (!document.hidden) {
        const query = new URLSearchParams({ limit: String(SESSION_LIMIT) });
        if (state.filter) query.set('id_contains', state.filter);
        let summariesEtag = null;
        const [summaries, models] = await Promise.all([
          // No session id holds a control character (a tab or U+0085 pasted into the filter), and the server
          // refuses such a filter: it matches no session, without asking.
          CONTROL_CHARACTER.test(state.filter) ? NO_SESSIONS
            : api(`/events/metrics/summaries?${query}`, state.summariesEtag, (tag) => { summariesEtag = tag; }),
          api(`/events/metrics/models?window=${encodeURIComponent(el.window.value)}`),
        ]);
        showDashboard();
        renderModels(models);
        if (summaries === NOT_MODIFIED) {
          // The tag names the page's bytes, whatever the query: the rows kept are the page, their caption the filter's.
          drawSessions();
        } else {
          state.summariesEtag = summariesEtag;
          renderSessions(summaries);
        }
        if (state.openSession !== null) await refreshDetail();
        el.updated.textContent = new Date().toLocaleTimeString('en-GB', { hour12: false });
        setStatus(`Live, every ${POLL_MS / 1000} s`);
      }
    } catch (e) {
      // The next read of the open session is unconditional: a server that restarted meanwhile may reuse a tag.
      state.detailEtag = null;
      if (e instanceof AuthRequired) {
        askForToken(state.token ? 'The server refused this token.' : '');
        next = 0;
      } else if (e instanceof HttpError) {
        // It answered, with an error (503 while its store is unavailable or it shuts down): say which.
        setStatus(`The server answered ${e.status}${e.detail ? `: ${e.detail}` : ''}; retrying…`, true);
      } else if (e instanceof NotJson) {
        setStatus(`The server answered ${e.status} with ${e.type}, not its JSON (a proxy's page in front of it?); retrying…`, true);
      } else {
        setStatus('Cannot reach the server; retrying…', true);
      }
    } finally {
      state.running = false;
    }
    if (state.again) {
      state.again = false;
      schedule(0);
    } else if (next) {
      schedule(next);
    }
  }

  // ---- the token ----

  function askForToken(message) {
    clearTimeout(state.timer);
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    el.forget.hidden = true;
    if (el.detail.open) el.detail.close();
    el.dashboard.hidden = true;
    el.auth.hidden = false;
    el.authError.textContent = message;
    setStatus('Token required', true);
    el.token.focus();
  }

  function showDashboard() {
    el.auth.hidden = true;
    el.authError.textContent = '';
    el.dashboard.hidden = false;
    el.forget.hidden = !state.token;
  }

  el.auth.addEventListener('submit', (event) => {
    event.preventDefault(); // never a navigation: the token must not reach a URL or a request body
    const token = el.token.value.trim(); // as the server trims its own
    if (!token) {
      el.authError.textContent = 'Enter the token.';
      el.token.focus();
      return;
    }
    if (/[^\t\x20-\x7e]/.test(token)) {
      // No header can carry it (the browser would refuse the request, or the server, which reads headers as ASCII,
      // would never match it), so no server holds it: typically a curly quote or an invisible character from a copy.
      el.authError.textContent = 'This token holds a character no HTTP header can carry (a curly quote, an invisible '
        + 'character…): check that it was copied whole and as plain text.';
      el.token.focus();
      return;
    }
    el.token.value = '';
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    setStatus('Checking the token…');
    schedule(0);
  });

  el.forget.addEventListener('click', () => askForToken(''));

  // ---- model tiles ----

  function renderModels(body) {
    // Only models with traffic in the chosen window, or calls in flight now: the server lists every model it
    // has seen since it started.
    const models = (body.models || []).filter((m) => m.requests > 0 || m.in_flight > 0);
    el.modelsEmpty.hidden = models.length > 0;
    el.modelsCovered.textContent = body.covered_seconds > 0
      ? `Rates over the last ${Math.round(body.covered_seconds)} s (window ${Math.round(body.window_seconds)} s).`
      : 'Rates appear once the server has sampled its meters.';
    const tiles = models.map((m) => {
      const tile = node('li', null, 'tile');
      tile.dataset.model = m.model;
      tile.append(node('h3', m.model));
      const figures = node('dl', null, 'figures');
      const add = (label, value, className) => {
        const pair = node('div', null, className);
        pair.append(node('dt', label), node('dd', value));
        figures.append(pair);
      };
      add('Requests/s', fmtRate(m.requests_per_second));
      add('Errors', fmtPct(m.error_ratio), isNumber(m.error_ratio) && m.error_ratio >= 0.05 ? 'bad' : '');
      add('p50 latency', fmtMs(m.p50_latency_ms));
      add('p95 latency', fmtMs(m.p95_latency_ms));
      add('Tokens/s', fmtRate(m.tokens_per_second));
      add('In flight', fmtInt(m.in_flight));
      tile.append(figures);
      return tile;
    });
    el.models.replaceChildren(...tiles);
  }

  // ---- sessions table ----

  const errorRatio = (s) => (s.total_requests > 0 ? s.failed_requests / s.total_requests : 0);
  const COLUMNS = {
    id: { value: (s) => s.session_id, text: true },
    requests: { value: (s) => s.total_requests, show: fmtInt },
    failures: { value: (s) => s.failed_requests, show: fmtInt },
    error: { value: errorRatio, show: fmtPct },
    duration: { value: (s) => s.average_duration_ms, show: fmtMs },
    tokens: { value: (s) => s.total_tokens, show: fmtInt },
    tools: { value: (s) => s.requests_with_tools, show: fmtInt },
    cost: { value: (s) => (isNumber(s.total_cost_usd) ? s.total_cost_usd : null), show: fmtCost },
  };
  const SORT_LABELS = {
    id: 'session id', requests: 'requests', failures: 'failures', error: 'error %', duration: 'average duration',
    tokens: 'tokens', tools: 'tool-call requests', cost: 'cost',
  };

  // By the column the user chose, ties (and missing values, last) by session id: rows keep their places from one
  // poll to the next unless their figures change, whatever the sessions' recency.
  function sorted(sessions) {
    if (!state.sort) return sessions; // the server's order: most recently active first
    const { key, dir } = state.sort;
    const value = COLUMNS[key].value;
    const sign = dir === 'ascending' ? 1 : -1;
    const byId = (a, b) => (a.s.session_id < b.s.session_id ? -1 : a.s.session_id > b.s.session_id ? 1 : 0);
    return sessions
      .map((s) => ({ s, v: value(s) }))
      .sort((a, b) => {
        if (a.v === null || a.v === undefined) return b.v === null || b.v === undefined ? byId(a, b) : 1;
        if (b.v === null || b.v === undefined) return -1;
        const c = typeof a.v === 'string' ? a.v.localeCompare(b.v) : a.v - b.v;
        return c !== 0 ? sign * c : byId(a, b);
      })
      .map((x) => x.s);
  }

  function renderSessions(body) {
    state.sessions = body.sessions || [];
    state.total = body.total;
    drawSessions();
  }

  function drawSessions() {
    const sessions = sorted(state.sessions);
    const priced = state.sessions.some((s) => isNumber(s.total_cost_usd));
    const signature = JSON.stringify([state.sort, priced, sessions.map((s) => Object.values(COLUMNS).map((c) => c.value(s)))]);

    const shown = sessions.length;
    const of = state.total > shown ? ` (${fmtInt(shown)} of ${fmtInt(state.total)})` : ` (${fmtInt(shown)})`;
    const order = state.sort ? `sorted by ${SORT_LABELS[state.sort.key]}, ${state.sort.dir}` : 'most recently active first';
    el.sessionsCaption.textContent = `Sessions, ${order}${shown ? of : ''}`;
    el.sessionsEmpty.hidden = shown > 0;
    el.sessionsEmpty.textContent = state.filter
      ? `No session id contains “${state.filter}”.`
      : 'No session yet: post events to /events, or start the server with --demo.';
    for (const th of el.sessions.querySelectorAll('thead th')) {
      const key = th.dataset.col;
      if (key === 'cost') th.hidden = !priced;
      if (state.sort && state.sort.key === key) th.setAttribute('aria-sort', state.sort.dir);
      else th.removeAttribute('aria-sort');
      th.querySelector('.arrow').textContent = state.sort && state.sort.key === key
        ? (state.sort.dir === 'ascending' ? ' ▲' : ' ▼') : '';
    }
    if (signature === state.tableSignature) return; // nothing changed: keep the rows, their focus and selection
    state.tableSignature = signature;

    const focused = document.activeElement && document.activeElement.closest('#sessions tbody')
      ? document.activeElement.closest('tr').dataset.sessionId : null;
    const rows = sessions.map((s) => {
      const tr = node('tr');
      tr.dataset.sessionId = s.session_id;
      const head = node('th');
      head.scope = 'row';
      const open = node('button', s.session_id, 'session-link');
      open.type = 'button';
      open.setAttribute('aria-haspopup', 'dialog');
      head.append(open);
      tr.append(head);
      for (const [key, column] of Object.entries(COLUMNS)) {
        if (key === 'id') continue;
        const td = node('td', column.show(column.value(s)), 'num');
        td.dataset.col = key;
        if (key === 'cost') td.hidden = !priced;
        if ((key === 'failures' || key === 'error') && s.failed_requests > 0) td.classList.add('bad');
        tr.append(td);
      }
      return tr;
    });
    el.sessionsBody.replaceChildren(...rows);
    if (focused !== null) focusSessionButton(focused);
  }

  function focusSessionButton(id) {
    for (const tr of el.sessionsBody.rows) {
      if (tr.dataset.sessionId === id) {
        tr.querySelector('button').focus();
        return true;
      }
    }
    return false;
  }

  el.sessions.querySelector('thead').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-sort]');
    if (!button) return;
    const key = button.dataset.sort;
    const first = key === 'id' ? 'ascending' : 'descending';
    if (!state.sort || state.sort.key !== key) state.sort = { key, dir: first };
    else if (state.sort.dir === first) state.sort = { key, dir: first === 'ascending' ? 'descending' : 'ascending' };
    else state.sort = null; // third press: back to most recently active first
    drawSessions();
  });

  el.sessionsBody.addEventListener('click', (event) => {
    const button = event.target.closest('button.session-link');
    if (button) openDetail(button.closest('tr').dataset.sessionId);
  });

  let filterTimer = 0;
  el.filter.addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      state.filter = el.filter.value.trim();
      state.tableSignature = null;
      schedule(0);
    }, 250);
  });

  el.window.addEventListener('change', () => schedule(0));

  // ---- one session ----

  function openDetail(id) {
    state.openSession = id;
    state.detailSignature = null;
    state.detailEtag = null;
    el.detailId.textContent = id;
    el.detailMessage.hidden = true;
    el.detailFigures.replaceChildren();
    el.sparkline.replaceChildren();
    el.requestsBody.replaceChildren();
    el.requestsCaption.textContent = 'Loading the requests…';
    if (!el.detail.open) el.detail.showModal();
    el.detailHeading.focus();
    refreshDetail().catch((e) => {
      if (e instanceof AuthRequired) askForToken(state.token ? 'The server refused this token.' : '');
    });
  }

  async function refreshDetail() {
    const id = state.openSession;
    let session;
    if (id === '.' || id === '..') {
      // Valid session ids, but a browser reads a path segment ".", "..", "%2E" or "%2E%2E" as a step in the
      // path (the URL standard's dot-segments) and would ask for another route, whose answer is no session.
      el.detailMessage.textContent = `A browser cannot ask for the session “${id}”: it reads that id in a URL as a step in the path. `
        + `Its requests are at /events/metrics/session/${id === '.' ? '%2E' : '%2E%2E'} for a client that sends the path as written (curl).`;
      el.detailMessage.hidden = false;
      el.requestsCaption.textContent = '';
      return;
    }
    let etag = null;
    try {
      session = await api(`/events/metrics/session/${encodeURIComponent(id)}`, state.detailEtag, (tag) => { etag = tag; });
    } catch (e) {
      if (e instanceof HttpError && e.status === 404 && state.openSession === id) {
        // What was shown of it goes too: its figures and requests are no longer the server's.
        el.detailMessage.textContent = 'The server no longer holds this session (cleared, or evicted when idle).';
        el.detailMessage.hidden = false;
        el.detailFigures.replaceChildren();
        el.sparkline.replaceChildren();
        el.requestsBody.replaceChildren();
        el.requestsCaption.textContent = '';
        state.detailSignature = null;
        state.detailEtag = null;
        return;
      }
      throw e;
    }
    if (state.openSession !== id || session === NOT_MODIFIED) return; // another session now, or unchanged
    state.detailEtag = etag;
    const signature = JSON.stringify(session);
    if (signature === state.detailSignature) return;
    state.detailSignature = signature;
    renderDetail(session);
  }

  el.detail.addEventListener('close', () => {
    const id = state.openSession;
    state.openSession = null;
    state.detailSignature = null;
    state.detailEtag = null;
    if (el.dashboard.hidden) return; // closed because the token form took over: it has the focus
    if (id === null || !focusSessionButton(id)) $('sessions-heading').focus();
  });
  el.detailClose.addEventListener('click', () => el.detail.close());

  function renderDetail(s) {
    el.detailMessage.hidden = true;
    const figures = [
      ['Requests', fmtInt(s.total_requests)],
      ['Failures', fmtInt(s.failed_requests), s.failed_requests > 0 ? 'bad' : ''],
      ['Error %', fmtPct(errorRatio(s))],
      ['Avg duration', fmtMs(s.average_duration_ms)],
      ['Prompt tokens', fmtInt(s.total_prompt_tokens)],
      ['Completion tokens', fmtInt(s.total_completion_tokens)],
      ['Tool-call requests', fmtInt(s.requests_with_tools)],
    ];
    if (isNumber(s.total_cost_usd)) figures.push(['Cost', fmtCost(s.total_cost_usd)]);
    el.detailFigures.replaceChildren(...figures.map(([label, value, className]) => {
      const pair = node('div', null, className);
      pair.dataset.figure = label;
      pair.append(node('dt', label), node('dd', value));
      return pair;
    }));

    const records = s.requests || [];
    el.sparkline.replaceChildren(sparkline(records));

    const ttft = records.some((r) => isNumber(r.time_to_first_token_ms));
    const cost = records.some((r) => isNumber(r.cost_usd));
    document.querySelector('#requests th[data-col="ttft"]').hidden = !ttft;
    document.querySelector('#requests th[data-col="cost"]').hidden = !cost;
    const more = s.total_requests > records.length ? `, the ${fmtInt(records.length)} most recent of ${fmtInt(s.total_requests)}` : '';
    el.requestsCaption.textContent = records.length
      ? `Requests, newest first${more}`
      : 'No finished request yet.';
    const rows = [];
    for (let i = records.length - 1; i >= 0; i--) {
      const r = records[i];
      const tr = node('tr', null, r.success ? '' : 'failed');
      const time = node('td');
      const t = node('time', fmtTime(r.timestamp));
      t.dateTime = r.timestamp;
      time.append(t);
      tr.append(time, node('td', r.model, 'model'), node('td', fmtMs(r.duration_ms), 'num'));
      if (ttft) tr.append(node('td', fmtMs(r.time_to_first_token_ms), 'num'));
      tr.append(node('td', fmtInt(r.prompt_tokens), 'num'), node('td', fmtInt(r.completion_tokens), 'num'),
        node('td', fmtInt(r.total_tokens), 'num'), node('td', r.has_tool_calls ? 'Yes' : 'No'));
      if (cost) tr.append(node('td', fmtCost(r.cost_usd), 'num'));
      tr.append(node('td', r.success ? 'OK' : 'Failed', r.success ? '' : 'outcome-failed'),
        node('td', r.error, 'error-text'));
      rows.push(tr);
    }
    el.requestsBody.replaceChildren(...rows);
  }

  /** An inline SVG line of the records' durations, failures as red dots, with a text alternative. */
  function sparkline(records) {
    const width = Math.max(200, Math.round(el.sparkline.clientWidth) || 600); // drawn at the size it is shown
    const height = 80;
    const pad = 6; // room for a failure dot at either end
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('role', 'img');
    svg.classList.add('spark');
    const title = document.createElementNS(SVG, 'title');
    svg.append(title);
    const durations = records.map((r) => r.duration_ms).filter(isNumber);
    if (durations.length === 0) {
      title.textContent = 'No request duration to draw yet.';
      return svg;
    }
    const byValue = [...durations].sort((a, b) => a - b);
    const failed = records.filter((r) => !r.success).length;
    title.textContent = `Latency of the last ${records.length} requests: median ${fmtMs(byValue[Math.floor(byValue.length / 2)])}, `
      + `fastest ${fmtMs(byValue[0])}, slowest ${fmtMs(byValue[byValue.length - 1])}; ${failed} failed.`;
    const max = Math.max(1, byValue[byValue.length - 1]);
    const x = (i) => (records.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (records.length - 1));
    const y = (ms) => height - pad - (ms / max) * (height - 2 * pad);
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', records.map((r, i) => `${x(i).toFixed(1)},${y(r.duration_ms || 0).toFixed(1)}`).join(' '));
    line.classList.add('spark-line');
    svg.append(line);
    records.forEach((r, i) => {
      if (r.success) return;
      const dot = document.createElementNS(SVG, 'circle');
      dot.setAttribute('cx', x(i).toFixed(1));
      dot.setAttribute('cy', y(r.duration_ms || 0).toFixed(1));
      dot.setAttribute('r', '4');
      dot.classList.add('spark-failure');
      svg.append(dot);
    });
    return svg;
  }

  // ---- start ----

  state.filter = el.filter.value.trim(); // a value the browser restored on reload
  document.addEventListener('visibilitychange', () => {
    // Not while the token form waits for its token: a poll without one would be refused and clear the form's message.
    if (!document.hidden && el.auth.hidden) schedule(0);
  });
  schedule(0);
})();
