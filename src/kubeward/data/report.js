// kubeward HTML report: renders the findings of the JSON block with textContent only.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("kubeward-data").textContent);
  var SEV = D.severities; // index = severity value
  var PAGE = 200;
  var state = { severity: "", item: "", rule: "", q: "", suppressed: false, page: 0 };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    if (attrs) { for (var k in attrs) { if (attrs[k] !== null) n.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function rule(f) { return D.rules[f[1]]; }
  function obj(f) { return f[2] >= 0 ? D.objects[f[2]] : null; }
  function where(f) { var o = obj(f); return o ? o[1] + (f[3] ? ":" + f[3] : "") : ""; }

  function matches(f) {
    if (f[7] !== null && !state.suppressed) return false;
    if (state.severity && SEV[f[0]] !== state.severity) return false;
    if (state.item && String(rule(f)[2]) !== state.item) return false;
    if (state.rule && rule(f)[0] !== state.rule) return false;
    if (state.q) {
      var o = obj(f);
      var hay = [rule(f)[0], f[4], o ? o[0] : "", where(f)].join(" ").toLowerCase();
      if (hay.indexOf(state.q.toLowerCase()) < 0) return false;
    }
    return true;
  }

  function excerpt(f) {
    if (f[5] === null) {
      return el("p", { "class": "note" }, rule(f)[0].indexOf("secrets.") === 0 || (obj(f) && obj(f)[0].indexOf("Secret/") === 0)
        ? "No excerpt: it could show a secret value." : "No source excerpt for this finding.");
    }
    var x = D.excerpts[f[5]], pre = el("pre", { "class": "excerpt" });
    for (var i = 0; i < x[1].length; i++) {
      var n = x[0] + i, line = el("span", n === f[3] ? { "class": "hit" } : null);
      line.textContent = String(n).padStart(5, " ") + "  " + x[1][i];
      pre.appendChild(line);
      pre.appendChild(document.createTextNode("\n"));
    }
    return pre;
  }

  function detail(f) {
    var box = el("div");
    box.appendChild(el("p", null, f[4]));
    box.appendChild(excerpt(f));
    var fix = el("p", { "class": "fix" }); fix.appendChild(el("b", null, "Fix: ")); fix.appendChild(document.createTextNode(rule(f)[3]));
    box.appendChild(fix);
    f[6].forEach(function (x) { box.appendChild(el("p", { "class": "fix" }, "Safe change: " + x)); });
    if (f[7] !== null) box.appendChild(el("p", { "class": "note" }, "Suppressed: " + f[7]));
    return box;
  }

  function row(f, i) {
    var o = obj(f), tr = el("tr", { "class": "finding" + (f[7] !== null ? " suppressed" : ""), "data-severity": SEV[f[0]], "data-item": rule(f)[2], "data-rule": rule(f)[0], "data-index": i });
    tr.appendChild(el("td", { "class": "sev sev-" + SEV[f[0]] }, SEV[f[0]]));
    tr.appendChild(el("td", { title: D.items[rule(f)[2]] }, rule(f)[2]));
    tr.appendChild(el("td", { title: rule(f)[1] }, rule(f)[0]));
    var td = el("td");
    if (o) { td.appendChild(el("a", { href: "#obj-" + f[2] }, o[0])); }
    tr.appendChild(td);
    tr.appendChild(el("td", { "class": "loc" }, where(f)));
    tr.appendChild(el("td", null, f[4]));
    tr.addEventListener("click", function (ev) {
      if (ev.target.tagName === "A") return;
      var next = tr.nextSibling;
      if (next && next.classList.contains("detail")) { next.remove(); return; }
      var d = el("tr", { "class": "detail" }), c = el("td", { colspan: "6" });
      c.appendChild(detail(f)); d.appendChild(c); tr.parentNode.insertBefore(d, tr.nextSibling);
    });
    return tr;
  }

  function render() {
    var shown = [];
    D.findings.forEach(function (f, i) { if (matches(f)) shown.push(i); });
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    var body = document.querySelector("#findings tbody"), frag = document.createDocumentFragment();
    shown.slice(state.page * PAGE, (state.page + 1) * PAGE).forEach(function (i) { frag.appendChild(row(D.findings[i], i)); });
    body.textContent = ""; body.appendChild(frag);
    $("count").textContent = shown.length + " of " + D.findings.length + " findings" + (pages > 1 ? " (page " + (state.page + 1) + " of " + pages + ")" : "");
    $("count").setAttribute("data-shown", shown.length);
    var pager = $("pager"); pager.textContent = "";
    if (pages > 1) {
      var prev = el("button", { type: "button" }, "‹ previous"), next = el("button", { type: "button" }, "next ›");
      prev.disabled = state.page === 0; next.disabled = state.page === pages - 1;
      prev.onclick = function () { state.page--; render(); }; next.onclick = function () { state.page++; render(); };
      pager.appendChild(prev); pager.appendChild(el("span", null, (state.page + 1) + " / " + pages)); pager.appendChild(next);
    }
  }

  function showObject(n) {
    var view = $("object-view"), o = D.objects[n];
    view.textContent = "";
    if (!o) { view.hidden = true; return; }
    view.hidden = false;
    view.appendChild(el("h2", { id: "obj-" + n }, o[0]));
    view.appendChild(el("p", { "class": "loc" }, o[1]));
    D.findings.forEach(function (f) {
      if (f[2] !== n) return;
      var h = el("h3"); h.appendChild(el("span", { "class": "sev sev-" + SEV[f[0]] }, SEV[f[0]] + " "));
      h.appendChild(document.createTextNode(rule(f)[0] + " — " + rule(f)[1]));
      view.appendChild(h); view.appendChild(detail(f));
    });
    view.scrollIntoView();
  }

  function fromHash() {
    var h = decodeURIComponent(location.hash.replace(/^#/, ""));
    var m = /^obj-(\d+)$/.exec(h);
    if (m) { showObject(Number(m[1])); return; }
    $("object-view").hidden = true;
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    ["severity", "item", "rule", "q"].forEach(function (k) { state[k] = p.get(k) || ""; });
    state.suppressed = p.get("suppressed") === "1";
    state.page = 0; sync(); render();
  }
  function sync() {
    $("f-severity").value = state.severity; $("f-item").value = state.item; $("f-rule").value = state.rule;
    $("f-q").value = state.q; $("f-suppressed").checked = state.suppressed;
  }
  function toHash() {
    var p = new URLSearchParams();
    ["severity", "item", "rule", "q"].forEach(function (k) { if (state[k]) p.set(k, state[k]); });
    if (state.suppressed) p.set("suppressed", "1");
    history.replaceState(null, "", "#" + p.toString());
  }
  function onChange() {
    state.severity = $("f-severity").value; state.item = $("f-item").value; state.rule = $("f-rule").value;
    state.q = $("f-q").value.trim(); state.suppressed = $("f-suppressed").checked; state.page = 0;
    toHash(); render();
  }
  ["f-severity", "f-item", "f-rule", "f-suppressed"].forEach(function (id) { $(id).addEventListener("change", onChange); });
  $("f-q").addEventListener("input", onChange);
  $("f-reset").addEventListener("click", function () { location.hash = ""; fromHash(); });
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
