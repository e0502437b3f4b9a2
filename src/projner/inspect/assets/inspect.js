/* projner inspect: renders one page of sentence pairs at a time from the embedded JSON.
 * Pair keys: i index, s/t source/target tokens, l links [src, tgt(, score)],
 * se source verdicts {a, b, y label, o outcome, x explanation, t target [a, b] or null,
 *   al aligned target words, ip in --pred}, pr evaluated target spans [a, b, label],
 * g gold spans or null, tv target verdicts {c category, g gold span, p pred span, d detail,
 *   cs causes: indices into se}, px --pred spans the projector did not produce,
 * e has an error, rs reasons, ty types, tr "TYPE|reason" pairs. */
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('projner-data').textContent);
  var P = D.pairs;
  var $ = function (id) { return document.getElementById(id); };
  var st = { err: false, type: '', reason: '', q: '', page: 0, size: D.page_size || 25, view: 'lines' };
  var list = [];
  var OK_OUTCOME = 'projected';
  var PALETTE = ['#aa9cfc', '#7aecec', '#ff9561', '#ffeb80', '#bfeeb7', '#feca74', '#c887fb', '#9cc9cc', '#bfe1d9', '#ff8197', '#f0d0ff', '#e4e7d2'];
  var KNOWN = { PER: 1, PERSON: 1, ORG: 1, LOC: 1, GPE: 1, MISC: 1, NORP: 1, FAC: 1, EVENT: 1, DATE: 1, TIME: 1, MONEY: 1,
    PERCENT: 1, QUANTITY: 1, CARDINAL: 1, ORDINAL: 1, PRODUCT: 1, WORK_OF_ART: 1, LAW: 1, LANGUAGE: 1 };

  for (var k = 0; k < P.length; k++) {
    P[k]._q = (' ' + P[k].s.join(' ') + ' \n ' + P[k].t.join(' ') + ' ').toLowerCase();
  }

  function esc(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  }
  function cls(label) { return String(label).replace(/[^A-Za-z0-9_-]/g, '_'); }
  function colourStyle(label) {
    if (KNOWN[label]) return '';
    var h = 0;
    for (var i = 0; i < label.length; i++) h = (h * 31 + label.charCodeAt(i)) | 0;
    return ' style="background:' + PALETTE[Math.abs(h) % PALETTE.length] + '"';
  }
  function spanText(toks, a, b) { return toks.slice(a, b).join(' '); }

  /* ------------------------------------------------------------------ filtering */
  function applyFilter() {
    var q = st.q.trim().toLowerCase();
    var both = st.type && st.reason ? st.type + '|' + st.reason : '';
    list = [];
    for (var k = 0; k < P.length; k++) {
      var p = P[k];
      if (st.err && !p.e) continue;
      if (both) { if (p.tr.indexOf(both) < 0) continue; }
      else {
        if (st.type && p.ty.indexOf(st.type) < 0) continue;
        if (st.reason && p.rs.indexOf(st.reason) < 0) continue;
      }
      if (q && p._q.indexOf(q) < 0) continue;
      list.push(k);
    }
    st.page = 0;
  }

  /* ------------------------------------------------------------------ rendering */
  // tokens with non-overlapping spans; spans: [{a, b, y, c (css classes), k (index), title}]
  function tokenRow(toks, spans, side, tokClass, tokTitle) {
    var starts = {};
    for (var n = 0; n < spans.length; n++) if (!(spans[n].a in starts)) starts[spans[n].a] = spans[n];
    var out = ['<div class="row ' + side + '"><span class="side">' + side + '</span>'];
    var open = null;
    for (var i = 0; i < toks.length; i++) {
      if (i) out.push(' ');
      if (open === null && starts[i]) {
        open = starts[i];
        out.push('<mark class="ent ent-' + cls(open.y) + ' ' + (open.c || '') + '"' + colourStyle(open.y) +
          (open.k !== undefined ? ' data-k="' + open.k + '"' : '') + (open.title ? ' title="' + esc(open.title) + '"' : '') + '>');
      }
      var tc = tokClass ? tokClass(i) : '';
      var tt = tokTitle ? tokTitle(i) : '';
      out.push('<span class="tok' + (tc ? ' ' + tc : '') + '" data-w="' + i + '"' + (tt ? ' title="' + esc(tt) + '"' : '') + '>' + esc(toks[i]) + '</span>');
      if (open !== null && i + 1 === open.b) {
        out.push('<span class="lab">' + esc(open.y) + '</span></mark>');
        open = null;
      }
    }
    if (open !== null) out.push('</mark>');
    out.push('</div>');
    return out.join('');
  }

  function predClass(p) {
    // category of each evaluated target span (when gold is known)
    var m = {};
    for (var n = 0; n < p.tv.length; n++) { var t = p.tv[n]; if (t.p) m[t.p[0] + ':' + t.p[1] + ':' + t.p[2]] = t; }
    return m;
  }
  function goldClass(p) {
    var m = {};
    for (var n = 0; n < p.tv.length; n++) { var t = p.tv[n]; if (t.g) m[t.g[0] + ':' + t.g[1] + ':' + t.g[2]] = t; }
    return m;
  }

  function lostTargets(p) {
    // target words aligned to a dropped source entity -> explanation
    var m = {};
    for (var n = 0; n < p.se.length; n++) {
      var v = p.se[n];
      if (v.o === OK_OUTCOME) continue;
      for (var j = 0; j < v.al.length; j++) m[v.al[j]] = '"' + spanText(p.s, v.a, v.b) + '" ' + v.y + ' → ' + v.x;
    }
    return m;
  }

  function linesView(p) {
    var se = p.se.map(function (v, n) { return { a: v.a, b: v.b, y: v.y, c: 'o-' + v.o, k: n, title: v.x }; });
    var srcEnt = {};
    p.se.forEach(function (v) { for (var i = v.a; i < v.b; i++) srcEnt[i] = 1; });
    var aligned = {};
    p.l.forEach(function (l) { aligned[l[1]] = 1; });
    var lost = lostTargets(p);
    var pc = predClass(p);
    var pr = p.pr.map(function (s) {
      var t = pc[s[0] + ':' + s[1] + ':' + s[2]];
      return { a: s[0], b: s[1], y: s[2], c: D.has_gold ? 'c-' + (t ? t.c : 'spurious') : 'c-proj', title: t ? t.c + (t.d ? ': ' + t.d : '') : '' };
    });
    var html = ['<div class="rows"><div class="rows-inner" data-i="' + p.i + '">'];
    html.push(tokenRow(p.s, se, 'src', null, null));
    html.push('<svg class="links" xmlns="http://www.w3.org/2000/svg"></svg>');
    html.push(tokenRow(p.t, pr, 'tgt', function (j) { return (lost[j] ? 'lost' : '') + (aligned[j] ? ' al' : ''); },
      function (j) { return lost[j] || ''; }));
    if (p.g) {
      var gc = goldClass(p);
      var g = p.g.map(function (s) {
        var t = gc[s[0] + ':' + s[1] + ':' + s[2]];
        return { a: s[0], b: s[1], y: s[2], c: 'c-' + (t ? t.c : 'missed'), title: t ? t.c + (t.d ? ': ' + t.d : '') : '' };
      });
      html.push(tokenRow(p.t, g, 'gold', null, null));
    }
    html.push('</div></div>');
    return html.join('');
  }

  function matrixView(p) {
    var cell = {};
    p.l.forEach(function (l) { cell[l[0] + ':' + l[1]] = l.length > 2 ? l[2] : null; });
    var tEnt = {}, sEnt = {};
    var gEnt = {};
    (p.g || []).forEach(function (s) { for (var j = s[0]; j < s[1]; j++) gEnt[j] = s[2]; });
    p.pr.forEach(function (s) { for (var j = s[0]; j < s[1]; j++) tEnt[j] = s[2]; });
    p.se.forEach(function (v) { for (var i = v.a; i < v.b; i++) sEnt[i] = v.y; });
    var h = ['<div class="rows"><table class="matrix" data-i="' + p.i + '"><thead><tr><th></th>'];
    for (var j = 0; j < p.t.length; j++) {
      var te = tEnt[j] || gEnt[j];
      var tc = tEnt[j] ? 'ent ent-' + cls(te) : gEnt[j] ? 'ent ent-' + cls(te) + ' gold-only' : '';
      h.push('<th' + (tc ? ' class="' + tc + '"' + colourStyle(te) + ' title="' + (tEnt[j] ? 'predicted ' : 'gold only: ') + esc(te) + '"' : '') + ' data-w="' + j + '">' + esc(p.t[j]) + '</th>');
    }
    h.push('</tr></thead><tbody>');
    for (var i = 0; i < p.s.length; i++) {
      h.push('<tr><th' + (sEnt[i] ? ' class="ent ent-' + cls(sEnt[i]) + '"' + colourStyle(sEnt[i]) : '') + '>' + esc(p.s[i]) + '</th>');
      for (var jj = 0; jj < p.t.length; jj++) {
        var key = i + ':' + jj;
        if (key in cell) {
          var sc = cell[key];
          var op = sc === null ? 1 : Math.max(0.12, Math.min(1, sc));
          h.push('<td class="on" style="opacity:' + op.toFixed(2) + '" title="' + i + '-' + jj + (sc === null ? '' : ':' + sc) + '"></td>');
        } else h.push('<td></td>');
      }
      h.push('</tr>');
    }
    h.push('</tbody></table></div>');
    return h.join('');
  }

  function spanStr(toks, s) { return '"' + esc(spanText(toks, s[0], s[1])) + '" <span class="badge">' + esc(s[2]) + '</span> [' + s[0] + '-' + s[1] + ']'; }

  function verdictList(p) {
    var h = ['<ul class="verdicts">'];
    if (p.se.length) h.push('<li class="head">source entities</li>');
    p.se.forEach(function (v, n) {
      var ok = v.o === OK_OUTCOME && v.ip !== false;
      var where = v.t ? ' → <span class="txt">"' + esc(spanText(p.t, v.t[0], v.t[1])) + '"</span>' : '';
      if (!v.t && v.al.length) where = ' (aligned to <span class="txt">"' + esc(v.al.map(function (j) { return p.t[j]; }).join(' ')) + '"</span>)';
      h.push('<li class="' + (ok ? 'v-ok' : 'v-bad') + '" data-k="' + n + '" data-outcome="' + esc(v.o) + '"><span class="what">' + esc(v.o) + '</span> ' +
        spanStr(p.s, [v.a, v.b, v.y]) + where + ' <span class="why">' + esc(v.o === OK_OUTCOME && v.ip !== false ? '' : v.x) + '</span></li>');
    });
    if (p.px.length) {
      p.px.forEach(function (s) {
        h.push('<li class="v-bad" data-outcome="pred_differs"><span class="what">pred_differs</span> ' + spanStr(p.t, s) + ' <span class="why">in --pred, not produced by the projector</span></li>');
      });
    }
    if (p.tv.length) h.push('<li class="head">target entities vs gold</li>');
    p.tv.forEach(function (t) {
      var ok = t.c === 'correct';
      var main = t.g ? spanStr(p.t, t.g) : spanStr(p.t, t.p);
      var extra = '';
      if (t.c === 'wrong_boundary' || t.c === 'wrong_type') extra = ' predicted ' + spanStr(p.t, t.p);
      var why = t.d ? ' <span class="why">' + esc(t.d) + '</span>' : '';
      var causes = '';
      if (t.cs.length) {
        causes = ' <span class="why">← ' + t.cs.map(function (k) {
          var v = p.se[k];
          return '<span class="txt">"' + esc(spanText(p.s, v.a, v.b)) + '"</span> ' + esc(v.y) + ' (' + esc(v.x) + ')';
        }).join('; ') + '</span>';
      }
      h.push('<li class="' + (ok ? 'v-ok' : 'v-bad') + '" data-category="' + esc(t.c) + '"><span class="what">' + esc(t.c) + '</span> ' + main + extra + why + causes + '</li>');
    });
    h.push('</ul>');
    return h.join('');
  }

  function card(p) {
    var badges = p.rs.length ? p.rs.map(function (r) { return '<span class="badge r-' + esc(r) + '" title="' + esc((D.reason_help || {})[r] || '') + '">' + esc(r) + '</span>'; }).join('')
      : '<span class="badge r-ok">ok</span>';
    return '<section class="pair' + (p.e ? ' err' : '') + '" data-i="' + p.i + '" data-err="' + p.e + '">' +
      '<h3><span class="pid">#' + (p.i + 1) + '</span>' + badges + '</h3>' +
      (st.view === 'matrix' ? matrixView(p) : linesView(p)) + verdictList(p) + '</section>';
  }

  function drawLinks(root) {
    var boxes = root.querySelectorAll('.rows-inner');
    var plans = [];
    // read phase: all positions first (one layout), then write
    for (var n = 0; n < boxes.length; n++) {
      var box = boxes[n], p = P[+box.getAttribute('data-i')];
      var svg = box.querySelector('svg.links');
      var base = box.getBoundingClientRect();
      var sr = svg.getBoundingClientRect();
      var xs = function (sel) {
        var els = box.querySelectorAll(sel), out = [];
        for (var i = 0; i < els.length; i++) { var r = els[i].getBoundingClientRect(); out.push(r.left - base.left + r.width / 2); }
        return out;
      };
      plans.push({ svg: svg, p: p, sx: xs('.row.src .tok'), tx: xs('.row.tgt .tok'), w: box.scrollWidth, top: sr.height });
    }
    for (var m = 0; m < plans.length; m++) {
      var pl = plans[m], p2 = pl.p, out = [];
      var inEnt = {};
      p2.se.forEach(function (v) { for (var i = v.a; i < v.b; i++) inEnt[i] = 1; });
      var H = pl.top || 44;
      for (var k = 0; k < p2.l.length; k++) {
        var l = p2.l[k], x1 = pl.sx[l[0]], x2 = pl.tx[l[1]];
        if (x1 === undefined || x2 === undefined) continue;
        var op = l.length > 2 ? Math.max(0.15, Math.min(1, l[2])) : 0.85;
        out.push('<line class="' + (inEnt[l[0]] ? 'e' : '') + '" data-s="' + l[0] + '" data-t="' + l[1] + '" x1="' + x1.toFixed(1) + '" y1="0" x2="' + x2.toFixed(1) +
          '" y2="' + H + '" stroke-opacity="' + op.toFixed(2) + '"><title>' + l[0] + '-' + l[1] + (l.length > 2 ? ':' + l[2] : '') + '</title></line>');
      }
      pl.svg.setAttribute('width', pl.w);
      pl.svg.style.width = pl.w + 'px';
      pl.svg.innerHTML = out.join('');
    }
  }

  function render() {
    var n = list.length, pages = Math.max(1, Math.ceil(n / st.size));
    if (st.page >= pages) st.page = pages - 1;
    if (st.page < 0) st.page = 0;
    var start = st.page * st.size, end = Math.min(n, start + st.size), html = [];
    for (var i = start; i < end; i++) html.push(card(P[list[i]]));
    var main = $('pairs');
    main.innerHTML = html.length ? html.join('') : '<p class="empty">No pair matches the filters.</p>';
    $('count').textContent = n + ' of ' + P.length + ' pairs';
    $('pageinfo').textContent = 'page ' + (st.page + 1) + ' / ' + pages;
    $('prev').disabled = st.page === 0;
    $('next').disabled = st.page >= pages - 1;
    if (st.view === 'lines') drawLinks(main);
    document.body.setAttribute('data-ready', '1');
  }

  /* ------------------------------------------------------------------ hover: links of an entity */
  function highlight(el, on) {
    var card = el.closest('.pair');
    if (!card) return;
    var p = P[+card.getAttribute('data-i')];
    var k = el.getAttribute('data-k');
    if (k === null) return;
    var v = p.se[+k];
    var lines = card.querySelectorAll('svg.links line');
    for (var i = 0; i < lines.length; i++) {
      var s = +lines[i].getAttribute('data-s');
      lines[i].classList.toggle('hl', on && s >= v.a && s < v.b);
    }
    var al = {};
    v.al.forEach(function (j) { al[j] = 1; });
    var toks = card.querySelectorAll('.row.tgt .tok');
    for (var j = 0; j < toks.length; j++) toks[j].classList.toggle('hl', on && !!al[toks[j].getAttribute('data-w')]);
  }

  /* ------------------------------------------------------------------ controls */
  function fillSelects() {
    var ft = $('f-type');
    D.types.forEach(function (t) { var o = document.createElement('option'); o.value = t; o.textContent = t; ft.appendChild(o); });
    var fr = $('f-reason');
    Object.keys(D.reasons).forEach(function (r) {
      var o = document.createElement('option'); o.value = r; o.textContent = r + ' (' + D.reasons[r] + ' pairs)'; fr.appendChild(o);
    });
    $('f-size').value = String(st.size);
  }
  function sync() {
    $('f-errors').checked = st.err; $('f-type').value = st.type; $('f-reason').value = st.reason;
    $('f-search').value = st.q; $('f-view').value = st.view;
  }
  function refilter() { applyFilter(); render(); }

  fillSelects();
  $('f-errors').addEventListener('change', function (e) { st.err = e.target.checked; refilter(); });
  $('f-type').addEventListener('change', function (e) { st.type = e.target.value; refilter(); });
  $('f-reason').addEventListener('change', function (e) { st.reason = e.target.value; refilter(); });
  var timer = null;
  $('f-search').addEventListener('input', function (e) {
    clearTimeout(timer);
    timer = setTimeout(function () { st.q = e.target.value; refilter(); }, 150);
  });
  $('f-view').addEventListener('change', function (e) { st.view = e.target.value; render(); });
  $('f-size').addEventListener('change', function (e) { st.size = +e.target.value; st.page = 0; render(); });
  $('f-reset').addEventListener('click', function () { st.err = false; st.type = ''; st.reason = ''; st.q = ''; sync(); refilter(); });
  $('prev').addEventListener('click', function () { st.page--; render(); window.scrollTo(0, $('pairs').offsetTop - 60); });
  $('next').addEventListener('click', function () { st.page++; render(); window.scrollTo(0, $('pairs').offsetTop - 60); });
  document.addEventListener('keydown', function (e) {
    if (e.target && /INPUT|SELECT|TEXTAREA/.test(e.target.tagName)) return;
    if (e.key === 'ArrowRight' && !$('next').disabled) $('next').click();
    if (e.key === 'ArrowLeft' && !$('prev').disabled) $('prev').click();
  });
  document.getElementById('summary').addEventListener('click', function (e) {
    var a = e.target.closest('a');
    if (!a) return;
    if (a.hasAttribute('data-reason')) { st.reason = a.getAttribute('data-reason'); st.err = true; }
    else if (a.hasAttribute('data-type')) { st.type = a.getAttribute('data-type'); }
    else if (a.getAttribute('data-filter') === 'errors') { st.err = true; }
    else return;
    e.preventDefault(); sync(); refilter();
  });
  var main = $('pairs');
  main.addEventListener('mouseover', function (e) { var m = e.target.closest('[data-k]'); if (m) highlight(m, true); });
  main.addEventListener('mouseout', function (e) { var m = e.target.closest('[data-k]'); if (m) highlight(m, false); });
  var rt = null;
  window.addEventListener('resize', function () { clearTimeout(rt); rt = setTimeout(function () { if (st.view === 'lines') drawLinks(main); }, 100); });

  // initial state from the URL hash, e.g. #errors&reason=length_ratio&type=LOC&q=staaten
  (function fromHash() {
    var h = location.hash.replace(/^#/, '');
    if (!h) return;
    h.split('&').forEach(function (kv) {
      var i = kv.indexOf('='), key = i < 0 ? kv : kv.slice(0, i), val = i < 0 ? '' : decodeURIComponent(kv.slice(i + 1));
      if (key === 'errors') st.err = true;
      else if (key === 'reason') st.reason = val;
      else if (key === 'type') st.type = val;
      else if (key === 'q') st.q = val;
      else if (key === 'view' && (val === 'lines' || val === 'matrix')) st.view = val;
      else if (key === 'size' && +val > 0) st.size = +val;
    });
    sync();
  })();
  applyFilter();
  render();
})();
