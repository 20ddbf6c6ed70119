// keymux status page: polls GET /v1/status once a second with the admin token
// (kept in this tab's sessionStorage, sent as a Bearer header, never in a URL)
// and renders it. Every name from the agent goes into the page as text
// (textContent), never as markup: names come from the config, which is
// treated as untrusted here.
'use strict';
(() => {
  const TOKEN_KEY = 'keymux.adminToken';
  const POLL_MS = 1000;
  const TIMEOUT_MS = 5000;
  const MAX_EVENTS = 100;  // what the agent keeps (RecentEvents)
  const DISABLED_BY_OPERATOR = 'disabled by operator';

  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN_KEY);
  let timer = null;
  let polling = false;
  let lastAnswer = null;   // Date of the last good answer
  let downSince = null;    // Date the agent stopped answering
  const groups = new Map(); // provider name -> {details, health, summaryText, tbody}
  const keyRows = new Map(); // provider + '\n' + key id -> row
  const clientRows = new Map(); // client name -> row
  let eventsSignature = '';
  const countdowns = new Set(); // elements with a .deadline (ms since epoch)

  // ------------------------------------------------------------ small helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }
  function setClass(node, className) {
    if (node.className !== className) node.className = className;
  }
  function num(n) {
    if (n === null || n === undefined) return '—';
    if (n >= 1e9) return (n / 1e9).toFixed(1) + 'G';
    if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
    if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    return String(n);
  }
  function clock(iso) {
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleTimeString([], { hour12: false });
  }
  // What the page calls the key's state: the router's, except that a key the
  // operator quarantined is "disabled". Any other string is shown as it comes.
  function displayState(key) {
    if (key.state === 'quarantined' && key.quarantine_reason === DISABLED_BY_OPERATOR) {
      return 'disabled';
    }
    return String(key.state);
  }
  const KNOWN_STATES = new Set(['ok', 'cooling', 'ejected', 'probing', 'quarantined',
                                'disabled', 'degraded', 'down']);
  function stateClass(state) {
    return 'state' + (KNOWN_STATES.has(state) ? ' ' + state : '');
  }
  function cause(key, state) {
    if (state === 'disabled') return DISABLED_BY_OPERATOR;
    if (state === 'ejected') {
      return 'provider faults (' + num(key.ejections_total) + (key.ejections_total === 1 ?
        ' ejection' : ' ejections') + ')';
    }
    if (key.health === 'probing') return 'probing: one request let through';
    return key.cooldown_cause || key.quarantine_reason || '';
  }

  // A meter: used / limit as a bar, "used / limit" as text; no bar without a limit.
  function meter() {
    const root = el('div', 'meter');
    const label = el('div', 'label');
    const track = el('div', 'track');
    const fill = el('div', 'fill');
    track.appendChild(fill);
    root.append(label, track);
    return { root, label, track, fill };
  }
  function setMeter(m, used, limit) {
    if (limit) {
      const ratio = Math.min(1, used / limit);
      setText(m.label, `${num(used)} / ${num(limit)}`);
      m.track.hidden = false;
      const width = (ratio * 100).toFixed(1) + '%';
      if (m.fill.style.width !== width) m.fill.style.width = width;
      setClass(m.fill, ratio >= 0.9 ? 'fill full' : 'fill');
    } else {
      setText(m.label, `${num(used)} (no limit)`);
      m.track.hidden = true;
    }
  }
  function cell(tr, label, child) {
    const td = el('td');
    td.dataset.label = label;
    td.appendChild(child);
    tr.appendChild(td);
    return td;
  }

  // ------------------------------------------------------------ talking to the agent

  async function api(method, path) {
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      return await fetch(path, {
        method,
        headers: { Authorization: 'Bearer ' + token },
        cache: 'no-store',
        credentials: 'omit',
        signal: abort.signal,
      });
    } finally {
      clearTimeout(timeout);
    }
  }
  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return String(body.error.message);
    } catch (e) { /* not JSON */ }
    return `HTTP ${response.status}`;
  }

  function showLogin(message) {
    clearTimeout(timer);
    timer = null;
    polling = false;
    $('status').hidden = true;
    $('logout').hidden = true;
    $('unreachable').hidden = true;
    $('login').hidden = false;
    const error = $('login-error');
    error.hidden = !message;
    error.textContent = message || '';
    setText($('conn'), '');
    $('token').focus();
  }

  function unreachable(why) {
    if (!downSince) downSince = new Date();
    const banner = $('unreachable');
    banner.textContent = `The agent is unreachable (${why}) since ` +
      `${downSince.toLocaleTimeString([], { hour12: false })}; retrying every second.` +
      (lastAnswer ? ` The figures below are from ${lastAnswer.toLocaleTimeString([],
        { hour12: false })}.` : '');
    banner.hidden = false;
    $('status').classList.add('stale');
    setText($('conn'), 'unreachable');
    setClass($('conn'), 'conn down');
  }
  function reachable() {
    downSince = null;
    lastAnswer = new Date();
    $('unreachable').hidden = true;
    $('status').classList.remove('stale');
    setText($('conn'), 'live');
    setClass($('conn'), 'conn');
  }

  function schedule() {
    clearTimeout(timer);
    if (polling) timer = setTimeout(poll, POLL_MS);
  }

  // One request per interval, whatever the number of keys; the next starts
  // once this one has ended, so a slow agent is never asked twice at once.
  async function poll() {
    let response;
    try {
      response = await api('GET', '/v1/status');
    } catch (e) {
      unreachable(e && e.name === 'AbortError' ? 'no answer in 5 s' : 'connection failed');
      schedule();
      return;
    }
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem(TOKEN_KEY);
      token = null;
      showLogin('The agent no longer accepts this token: ' + await errorMessage(response));
      return;
    }
    if (!response.ok) {
      unreachable(`HTTP ${response.status}`);
      schedule();
      return;
    }
    let status;
    try {
      status = await response.json();
    } catch (e) {
      unreachable('an answer that is not JSON');
      schedule();
      return;
    }
    reachable();
    render(status);
    schedule();
  }

  function startPolling() {
    $('login').hidden = true;
    $('status').hidden = false;
    $('logout').hidden = false;
    polling = true;
    poll();
  }

  async function login(event) {
    event.preventDefault();
    const candidate = $('token').value.trim();
    if (!candidate) return;
    token = candidate;
    let response;
    try {
      response = await api('GET', '/v1/status');
    } catch (e) {
      token = null;
      showLogin('The agent is unreachable: try again once it runs.');
      return;
    }
    if (response.status === 401) {
      token = null;
      showLogin('Wrong admin token: the agent refused it.');
      return;
    }
    if (!response.ok) {
      token = null;
      showLogin(await errorMessage(response));
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, candidate);
    $('token').value = '';
    startPolling();
  }

  // ------------------------------------------------------------ operator actions

  function confirmAction(key, action) {
    const dialog = $('confirm');
    const verb = action === 'disable' ? 'Disable' : 'Enable';
    $('confirm-text').textContent = action === 'disable'
      ? `Disable key "${key.id}" of provider "${key.provider}"? It stops serving at once; ` +
        'its traffic moves to the other keys until it is enabled again.'
      : `Enable key "${key.id}" of provider "${key.provider}"? It serves again at once ` +
        '(do it once the key is fixed, if the provider refused it).';
    $('confirm-ok').textContent = verb;
    dialog.returnValue = '';
    dialog.onclose = async () => {
      if (dialog.returnValue !== 'ok') return;
      const notice = $('notice');
      let response;
      try {
        response = await api('POST',
          `/v1/keys/${encodeURIComponent(key.id)}/${action}`);
      } catch (e) {
        notice.textContent = `${verb} ${key.id}: the agent is unreachable.`;
        notice.hidden = false;
        return;
      }
      notice.textContent = response.ok
        ? `Key ${key.id} ${action}d.`
        : `${verb} ${key.id} failed: ${await errorMessage(response)}`;
      notice.hidden = false;
      if (polling) { clearTimeout(timer); poll(); }
    };
    dialog.showModal();
  }

  // ------------------------------------------------------------ rendering

  function providerGroup(name) {
    let g = groups.get(name);
    if (g) return g;
    const details = el('details', 'provider');
    details.open = true;
    const summary = el('summary');
    const title = el('span', 'name', name);
    const health = el('span', 'state');
    const summaryText = el('span', 'counts');
    summary.append(title, health, summaryText);
    const scroll = el('div', 'scroll');
    const table = el('table', 'grid keys');
    const head = el('thead');
    const tr = el('tr');
    for (const h of ['Key', 'State', 'Cooldown', 'In flight', 'Requests / min', 'Tokens / min',
                     'Remaining (provider)', 'Fingerprint', '']) {
      tr.appendChild(el('th', '', h));
    }
    head.appendChild(tr);
    const tbody = el('tbody');
    table.append(head, tbody);
    scroll.appendChild(table);
    details.append(summary, scroll);
    g = { details, health, summaryText, tbody };
    groups.set(name, g);
    return g;
  }

  function keyRow(id) {
    const tr = el('tr');
    const row = { tr, key: null, search: '' };
    row.id = el('span', 'mono', id);
    cell(tr, 'Key', row.id);
    const stateBox = el('span');
    row.state = el('span', 'state');
    row.cause = el('span', 'cause');
    stateBox.append(row.state, row.cause);
    cell(tr, 'State', stateBox);
    row.countdown = el('span', 'countdown');
    cell(tr, 'Cooldown', row.countdown);
    row.inFlight = el('span');
    cell(tr, 'In flight', row.inFlight);
    row.requests = meter();
    cell(tr, 'Requests / min', row.requests.root);
    row.tokens = meter();
    cell(tr, 'Tokens / min', row.tokens.root);
    row.remaining = el('span');
    cell(tr, 'Remaining', row.remaining);
    row.fingerprint = el('span', 'mono');
    cell(tr, 'Fingerprint', row.fingerprint);
    row.button = el('button');
    row.button.type = 'button';
    row.button.addEventListener('click', () => {
      const state = displayState(row.key);
      confirmAction(row.key, state === 'disabled' || state === 'quarantined' ? 'enable' : 'disable');
    });
    cell(tr, 'Action', row.button);
    return row;
  }

  // Seconds until the key takes requests again: its cooldown, or the end of
  // its ejection as an outlier (by the agent's clock, `now` in the status).
  function secondsLeft(key, serverNow) {
    if (key.cooldown_seconds > 0) return key.cooldown_seconds;
    if (key.ejected_until && serverNow) {
      const left = (Date.parse(key.ejected_until) - Date.parse(serverNow)) / 1000;
      if (left > 0) return left;
    }
    return 0;
  }

  function updateKeyRow(row, key, receivedAt, serverNow) {
    row.key = key;
    const state = displayState(key);
    setText(row.state, state);
    setClass(row.state, stateClass(state));
    setText(row.cause, cause(key, state));
    const left = secondsLeft(key, serverNow);
    if (left > 0) {
      row.countdown.deadline = receivedAt + left * 1000;
      setClass(row.countdown, 'countdown');
      countdowns.add(row.countdown);
    } else {
      row.countdown.deadline = 0;
      countdowns.delete(row.countdown);
      setClass(row.countdown, 'countdown none');
      setText(row.countdown, '—');
    }
    const limits = key.limits || {};
    setText(row.inFlight, limits.max_in_flight
      ? `${key.in_flight} / ${limits.max_in_flight}` : String(key.in_flight));
    setMeter(row.requests, key.requests_in_window, limits.rpm);
    setMeter(row.tokens, key.tokens_in_window, limits.tpm);
    const r = key.reported_remaining_requests;
    const t = key.reported_remaining_tokens;
    setText(row.remaining, r === null && t === null ? '—'
      : `${num(r)} req · ${num(t)} tok`);
    setText(row.fingerprint, String(key.fingerprint));
    setText(row.button, state === 'disabled' || state === 'quarantined' ? 'Enable' : 'Disable');
    row.search = [key.id, key.provider, state, key.fingerprint, cause(key, state)]
      .join(' ').toLowerCase();
  }

  function tickCountdowns() {
    const now = Date.now();
    for (const node of countdowns) {
      const left = Math.max(0, (node.deadline - now) / 1000);
      setText(node, left >= 60 ? `${Math.floor(left / 60)} min ${Math.ceil(left % 60)} s`
        : `${Math.ceil(left)} s`);
    }
  }

  function renderKeys(status) {
    const receivedAt = Date.now();
    const byProvider = new Map();
    for (const p of status.providers || []) byProvider.set(p.name, { provider: p, keys: [] });
    for (const key of status.keys || []) {
      let entry = byProvider.get(key.provider);
      if (!entry) {
        entry = { provider: { name: key.provider, health: 'unknown' }, keys: [] };
        byProvider.set(key.provider, entry);
      }
      entry.keys.push(key);
    }
    const container = $('providers');
    const seenGroups = new Set();
    const seenRows = new Set();
    let index = 0;
    for (const [name, { provider, keys }] of byProvider) {
      const g = providerGroup(name);
      seenGroups.add(name);
      if (container.children[index] !== g.details) {
        container.insertBefore(g.details, container.children[index] || null);
      }
      index++;
      const health = String(provider.health);
      setText(g.health, health);
      setClass(g.health, stateClass(health));
      const counts = {};
      keys.forEach((k, i) => {
        const rowId = name + '\n' + k.id;
        let row = keyRows.get(rowId);
        if (!row) {
          row = keyRow(k.id);
          keyRows.set(rowId, row);
        }
        seenRows.add(rowId);
        updateKeyRow(row, k, receivedAt, status.now);
        const s = displayState(k);
        counts[s] = (counts[s] || 0) + 1;
        if (g.tbody.children[i] !== row.tr) {
          g.tbody.insertBefore(row.tr, g.tbody.children[i] || null);
        }
      });
      const parts = Object.entries(counts).map(([s, n]) => `${n} ${s}`);
      setText(g.summaryText, `${keys.length} key${keys.length === 1 ? '' : 's'}` +
        (parts.length ? ': ' + parts.join(', ') : ''));
    }
    // Keys and providers a reload removed.
    for (const [rowId, row] of keyRows) {
      if (!seenRows.has(rowId)) {
        row.tr.remove();
        countdowns.delete(row.countdown);
        keyRows.delete(rowId);
      }
    }
    for (const [name, g] of groups) {
      if (!seenGroups.has(name)) {
        g.details.remove();
        groups.delete(name);
      }
    }
    tickCountdowns();
    applyFilter();
  }

  function applyFilter() {
    const query = $('filter').value.trim().toLowerCase();
    const words = query ? query.split(/\s+/) : [];
    let shown = 0;
    let total = 0;
    const visibleByGroup = new Map();
    for (const [rowId, row] of keyRows) {
      total++;
      const visible = words.every((w) => row.search.includes(w));
      row.tr.classList.toggle('hidden-row', !visible);
      if (visible) shown++;
      const name = rowId.slice(0, rowId.indexOf('\n'));
      visibleByGroup.set(name, (visibleByGroup.get(name) || 0) + (visible ? 1 : 0));
    }
    for (const [name, g] of groups) g.details.hidden = words.length > 0 && !visibleByGroup.get(name);
    setText($('counts'), words.length ? `${shown} of ${total} keys shown` : `${total} keys`);
  }

  function clientRow(name) {
    const tr = el('tr');
    const row = { tr };
    cell(tr, 'Client', el('span', 'mono', name));
    row.inFlight = el('span');
    cell(tr, 'In flight', row.inFlight);
    row.requests = meter();
    cell(tr, 'Requests / min', row.requests.root);
    row.tokens = meter();
    cell(tr, 'Tokens / min', row.tokens.root);
    row.requestsToday = el('span');
    cell(tr, 'Requests today', row.requestsToday);
    row.today = meter();
    cell(tr, 'Tokens today', row.today.root);
    return row;
  }

  function renderClients(clients) {
    const tbody = $('clients').tBodies[0];
    const seen = new Set();
    clients.forEach((c, i) => {
      let row = clientRows.get(c.name);
      if (!row) {
        row = clientRow(c.name);
        clientRows.set(c.name, row);
      }
      seen.add(c.name);
      const limits = c.limits || {};
      setText(row.inFlight, limits.max_in_flight
        ? `${c.in_flight} / ${limits.max_in_flight}` : String(c.in_flight));
      setMeter(row.requests, c.requests_in_window, limits.rpm);
      setMeter(row.tokens, c.tokens_in_window, limits.tpm);
      setText(row.requestsToday, num(c.requests_today));
      setMeter(row.today, c.tokens_today, limits.tokens_per_day);
      if (tbody.children[i] !== row.tr) tbody.insertBefore(row.tr, tbody.children[i] || null);
    });
    for (const [name, row] of clientRows) {
      if (!seen.has(name)) {
        row.tr.remove();
        clientRows.delete(name);
      }
    }
  }

  function renderEvents(events) {
    const first = events[0];
    const signature = events.length + (first ? first.at + first.detail : '');
    if (signature === eventsSignature) return;
    eventsSignature = signature;
    const list = $('events');
    list.replaceChildren();
    if (!events.length) list.appendChild(el('li', '', 'No state change since the agent started.'));
    for (const e of events.slice(0, MAX_EVENTS)) {
      const li = el('li');
      const time = el('time', '', clock(e.at));
      time.dateTime = String(e.at);
      const kind = String(e.kind);
      const badge = el('span', stateClass(kind === 'recovered' || kind === 'enabled' ? 'ok'
        : kind === 'reload' ? 'reload' : kind), kind);
      li.append(time, badge, el('span', 'detail', e.detail));
      list.appendChild(li);
    }
  }

  function render(status) {
    const config = status.config || {};
    const reload = config.reload || {};
    setText($('meta'), `version ${status.version} · config ${config.name} · ` +
      `loaded ${clock(reload.at)}${reload.ok ? '' : ' (last reload rejected)'} · ` +
      `updated ${clock(status.now)}`);
    const notice = $('notice');
    if (!reload.ok && reload.at) {
      notice.textContent = `The reload at ${clock(reload.at)} was rejected: ${reload.detail}. ` +
        'The previous configuration still serves.';
      notice.hidden = false;
      notice.dataset.reload = '1';
    } else if (notice.dataset.reload) {
      notice.hidden = true;
      delete notice.dataset.reload;
    }
    renderKeys(status);
    renderClients(status.clients || []);
    renderEvents(status.events || []);
  }

  // ------------------------------------------------------------ start

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', login);
    $('filter').addEventListener('input', applyFilter);
    $('logout').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      token = null;
      showLogin('');
    });
    setInterval(tickCountdowns, 250);
    if (token) startPolling(); else showLogin('');
  });
})();
