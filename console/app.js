// duegate console: plain JavaScript, no library, same origin as the admin API.
// The token is asked once and kept in sessionStorage (this tab only).
'use strict';

(function () {
  const KEY = 'duegate.token';
  const $ = (sel) => document.querySelector(sel);
  const state = { sort: 'next', offset: 0, limit: 50, total: 0 };

  function token() { return sessionStorage.getItem(KEY) || ''; }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== '' && k != null) e.append(k instanceof Node ? k : document.createTextNode(k == null ? '' : String(k)));
    return e;
  }

  function flash(msg, bad) {
    const f = $('#flash');
    f.textContent = msg;
    f.className = 'flash' + (bad ? ' bad' : ' ok');
  }

  async function api(path, opts) {
    const o = Object.assign({ headers: {} }, opts || {});
    o.headers.Authorization = 'Bearer ' + token();
    if (o.body && typeof o.body !== 'string') {
      o.body = JSON.stringify(o.body);
      o.headers['Content-Type'] = 'application/json';
    }
    const r = await fetch(path, o);
    if (r.status === 401) {
      sessionStorage.removeItem(KEY);
      show('login');
      throw new Error('the token was refused');
    }
    const ct = r.headers.get('Content-Type') || '';
    const body = ct.includes('json') ? await r.json() : await r.text();
    if (!r.ok) throw new Error((body && body.detail) || ('HTTP ' + r.status));
    return body;
  }

  // ---- formatting
  function money(minor, cur) {
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency: cur || 'USD' }).format(minor / 100);
    } catch (e) { return (minor / 100).toFixed(2) + ' ' + (cur || ''); }
  }
  function when(iso, withTime) {
    if (!iso) return '';
    const d = new Date(iso);
    return withTime ? d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
                    : d.toLocaleDateString(undefined, { dateStyle: 'medium' });
  }

  // ---- views
  const views = ['login', 'cases', 'inbox', 'case', 'numbers'];
  function show(name) {
    for (const v of views) {
      const s = v === 'login' ? $('#login') : $('#view-' + v);
      s.hidden = v !== name;
    }
    for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.id === 'nav-' + name);
    $('#logout').hidden = name === 'login';
  }

  function query() {
    const p = new URLSearchParams();
    const q = $('#f-q').value.trim();
    if (q) p.set('q', q);
    if ($('#f-status').value) p.set('status', $('#f-status').value);
    if ($('#f-channel').value) p.set('channel', $('#f-channel').value);
    if ($('#f-stage').value.trim()) p.set('stage', $('#f-stage').value.trim());
    if ($('#f-needs').checked) p.set('needs_person', '1');
    if ($('#f-overdue').checked) p.set('overdue', '1');
    p.set('sort', state.sort);
    return p;
  }

  async function loadCases() {
    show('cases');
    const p = query();
    p.set('limit', state.limit);
    p.set('offset', state.offset);
    const data = await api('/api/cases?' + p);
    state.total = data.total;
    const tb = $('#cases tbody');
    tb.replaceChildren();
    for (const c of data.cases) {
      const tr = el('tr', { 'data-id': c.id, class: c.needs_person ? 'needs' : '' },
        el('td', { 'data-label': 'Customer' }, c.customer),
        el('td', { 'data-label': 'Order no.' }, el('a', { href: '#/case/' + c.id }, c.order)),
        el('td', { 'data-label': 'Product' }, c.product),
        el('td', { 'data-label': 'Balance', class: 'num' }, money(c.balance_minor, c.currency)),
        el('td', { 'data-label': 'Due date' }, when(c.due_at)),
        el('td', { 'data-label': 'Last contact' }, when(c.last_contact_at, true)),
        el('td', { 'data-label': 'Feedback', class: 'feedback' }, c.feedback),
        el('td', { 'data-label': 'Next step' }, c.next_step,
          c.next_at ? el('small', {}, ' · ' + when(c.next_at, true)) : ''),
        el('td', { 'data-label': 'Status' }, el('span', { class: 'pill s-' + c.status }, c.status)));
      tb.append(tr);
    }
    if (!data.cases.length) tb.append(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'No case matches.')));
    const from = data.total ? state.offset + 1 : 0;
    $('#page-info').textContent = from + '–' + (state.offset + data.cases.length) + ' of ' + data.total;
    $('#prev').disabled = state.offset === 0;
    $('#next').disabled = data.next_offset == null;
    for (const th of document.querySelectorAll('#cases th[data-sort]')) {
      const k = th.dataset.sort;
      th.classList.toggle('sorted', state.sort === k || state.sort === '-' + k);
      th.setAttribute('aria-sort', state.sort === k ? 'ascending' : state.sort === '-' + k ? 'descending' : 'none');
    }
  }

  async function csvDownload(ev) {
    ev.preventDefault();
    const p = query();
    const r = await fetch('/api/cases.csv?' + p, { headers: { Authorization: 'Bearer ' + token() } });
    if (!r.ok) { flash('Export failed: HTTP ' + r.status, true); return; }
    const url = URL.createObjectURL(await r.blob());
    const a = el('a', { href: url, download: 'cases.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async function act(id, what, body) {
    try {
      await api('/api/cases/' + id + '/' + what, { method: 'POST', body: body || {} });
      flash('Done: ' + what.replace('-', ' '));
      return true;
    } catch (e) {
      flash(e.message, true);
      return false;
    }
  }

  async function loadInbox() {
    show('inbox');
    const data = await api('/api/cases?needs_person=1&limit=200');
    const ul = $('#inbox');
    ul.replaceChildren();
    for (const c of data.cases) {
      const note = el('input', { type: 'text', placeholder: 'Note (what was agreed)', 'aria-label': 'Note' });
      const date = el('input', { type: 'date', 'aria-label': 'Promise date' });
      ul.append(el('li', { class: 'card', 'data-id': c.id },
        el('div', { class: 'who' }, el('strong', {}, c.customer), ' · ',
          el('a', { href: '#/case/' + c.id }, c.order), ' · ', money(c.balance_minor, c.currency)),
        el('blockquote', {}, c.feedback || '(no words)'),
        el('div', { class: 'when' }, when(c.last_contact_at, true)),
        el('div', { class: 'actions' },
          note,
          el('button', { type: 'button', class: 'handled', onclick: async () => {
            if (await act(c.id, 'reply-handled', { note: note.value })) loadInbox();
          } }, 'Reply handled'),
          date,
          el('button', { type: 'button', class: 'promise', onclick: async () => {
            if (!date.value) { flash('Pick the promised date first', true); return; }
            if (await act(c.id, 'promise', { pay_by: date.value })) loadInbox();
          } }, 'Record promise'),
          el('button', { type: 'button', class: 'wontpay', onclick: async () => {
            if (await act(c.id, 'wont-pay')) loadInbox();
          } }, "Won't pay"))));
    }
    if (!data.cases.length) ul.append(el('li', { class: 'empty' }, 'Nobody is waiting for an answer.'));
    $('#inbox-count').textContent = data.total || '';
  }

  async function refreshBadge() {
    try {
      const d = await api('/api/cases?needs_person=1&limit=1');
      $('#inbox-count').textContent = d.total || '';
    } catch (e) { /* shown elsewhere */ }
  }

  let currentCase = 0;
  async function loadCase(id) {
    show('case');
    currentCase = id;
    const c = await api('/api/cases/' + id);
    $('#case-head').replaceChildren(
      el('h2', {}, c.order + ' · ' + c.customer, ' ', el('span', { class: 'pill s-' + c.status }, c.status)),
      el('p', {}, money(c.balance_minor, c.currency) + ' due ' + when(c.due_at) +
        (c.product ? ' · ' + c.product : '')),
      el('p', {}, 'Next: ' + (c.next_step || 'nothing') + (c.next_at ? ' (' + when(c.next_at, true) + ')' : '')),
      c.needs_person ? el('p', { class: 'needs-box' }, 'Needs a person: “' + c.feedback + '”') : '');
    const ol = $('#timeline');
    ol.replaceChildren();
    for (const t of c.timeline) {
      let text;
      if (t.type === 'touch') text = t.stage + ' via ' + t.channel + ' (' + t.template + '): ' + t.status +
        (t.error_code ? ' ' + t.error_code : '') + (t.why ? ' – ' + t.why : '');
      else if (t.type === 'action') text = t.what.replace('_', ' ') + ' by ' + t.who + (t.arg ? ': ' + t.arg : '');
      else text = '“' + t.text + '”';
      ol.append(el('li', { class: 't-' + t.type }, el('time', {}, when(t.at, true)), ' ',
        el('span', { class: 'kind' }, t.type), ' ', text));
    }
  }

  // Recovered amount per stage and channel: grouped bars in inline SVG.
  function chart(rows) {
    const NS = 'http://www.w3.org/2000/svg';
    const s = (tag, a, txt) => {
      const e = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(a)) e.setAttribute(k, v);
      if (txt != null) e.textContent = txt;
      return e;
    };
    const stages = [...new Set(rows.map((r) => r.stage))];
    const chans = [...new Set(rows.map((r) => r.channel))].sort();
    const colors = { whatsapp: '#2a9d8f', sms: '#e9c46a', email: '#457b9d' };
    const max = Math.max(1, ...rows.map((r) => r.amount_minor));
    const bw = 28, gap = 18, h = 180, top = 20, left = 10;
    const gw = chans.length * bw + gap;
    const w = Math.max(320, left + stages.length * gw + 10);
    const svg = s('svg', { viewBox: `0 0 ${w} ${h + 70}`, width: w, height: h + 70, role: 'img', 'aria-label': 'Recovered amount by stage and channel', class: 'chart' });
    stages.forEach((st, i) => {
      chans.forEach((ch, j) => {
        const r = rows.find((x) => x.stage === st && x.channel === ch);
        if (!r) return;
        const bh = Math.round((r.amount_minor / max) * h);
        const x = left + i * gw + j * bw;
        const rect = s('rect', { x, y: top + h - bh, width: bw - 4, height: bh, fill: colors[ch] || '#888' });
        rect.append(s('title', {}, `${st} / ${ch}: ${money(r.amount_minor, r.currency)} (${r.cases} cases)`));
        svg.append(rect);
        svg.append(s('text', { x: x + (bw - 4) / 2, y: top + h - bh - 4, 'text-anchor': 'middle', class: 'v' },
          Math.round(r.amount_minor / 100)));
      });
      svg.append(s('text', { x: left + i * gw + (chans.length * bw) / 2, y: top + h + 16, 'text-anchor': 'middle' }, st));
    });
    chans.forEach((ch, j) => {
      svg.append(s('rect', { x: left + j * 90, y: top + h + 30, width: 12, height: 12, fill: colors[ch] || '#888' }));
      svg.append(s('text', { x: left + j * 90 + 16, y: top + h + 41 }, ch));
    });
    if (!rows.length) svg.append(s('text', { x: 20, y: 100 }, 'Nothing recovered yet.'));
    return svg;
  }

  async function loadNumbers() {
    show('numbers');
    const d = await api('/api/summary');
    $('#chart').replaceChildren(chart(d.recovered));
    const ul = $('#by-status');
    ul.replaceChildren();
    for (const [k, v] of Object.entries(d.cases_by_status)) ul.append(el('li', {}, el('span', { class: 'pill s-' + k }, k), ' ' + v));
  }

  async function route() {
    if (!token()) { show('login'); return; }
    const h = location.hash || '#/cases';
    try {
      let m;
      if ((m = h.match(/^#\/case\/(\d+)$/))) await loadCase(m[1]);
      else if (h === '#/inbox') await loadInbox();
      else if (h === '#/numbers') await loadNumbers();
      else await loadCases();
      refreshBadge();
    } catch (e) {
      flash(e.message, true);
    }
  }

  // ---- wiring
  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $('#token').value);
    $('#token').value = '';
    try {
      await api('/api/cases?limit=1');
      $('#login-error').textContent = '';
      route();
    } catch (e) {
      $('#login-error').textContent = e.message;
    }
  });
  $('#logout').addEventListener('click', () => { sessionStorage.removeItem(KEY); show('login'); });
  $('#filters').addEventListener('input', () => { state.offset = 0; loadCases().catch((e) => flash(e.message, true)); });
  $('#filters').addEventListener('submit', (ev) => ev.preventDefault());
  $('#csv').addEventListener('click', csvDownload);
  for (const th of document.querySelectorAll('#cases th[data-sort]')) {
    th.addEventListener('click', () => {
      const k = th.dataset.sort;
      state.sort = state.sort === k ? '-' + k : k;
      state.offset = 0;
      loadCases().catch((e) => flash(e.message, true));
    });
  }
  $('#prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - state.limit); loadCases(); });
  $('#next').addEventListener('click', () => { state.offset += state.limit; loadCases(); });
  for (const b of document.querySelectorAll('#case-actions button[data-act]')) {
    b.addEventListener('click', async () => { if (await act(currentCase, b.dataset.act)) loadCase(currentCase); });
  }
  $('#promise-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (await act(currentCase, 'promise', { pay_by: $('#promise-date').value })) loadCase(currentCase);
  });
  $('#handled-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (await act(currentCase, 'reply-handled', { note: $('#handled-note').value })) loadCase(currentCase);
  });
  window.addEventListener('hashchange', route);
  route();
})();
