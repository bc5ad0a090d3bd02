// Keyboard shortcuts of the busiest pages (issue 15). Never while typing in a field, never with Ctrl/Alt/Meta.
//   ?        show / hide the list of shortcuts that work on this page
//   /        search: the list's first filter field, else the header search
//   g then o orders, n new order, d dashboard, e exceptions, a approvals, w waves, r receipts, p purchase orders,
//            k KPIs, h hypercare (only the menu entries the user has: the link is followed, nothing else)
//   letters  an element of the page with data-key="x" (a button or link: the order page's e/v/r/h, the wave page's
//            r, the lists' n); a button with data-confirm still asks first (app.js)
(function () {
  "use strict";
  var GO = {
    o: "web:order-list", n: "web:order-new", d: "web:dashboard", e: "web:exception-list", a: "web:approval-list",
    w: "web:wave-list", r: "web:receipt-list", p: "web:po-list", k: "web:kpi-site", h: "web:hypercare"
  };
  var pendingGo = false;
  var goTimer = null;

  function typing(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable], dialog[open] form");
  }
  function menuLink(name) {
    return document.querySelector('nav.menu a[data-url-name="' + name + '"]');
  }
  function pageKeys() {
    var found = {};
    Array.prototype.forEach.call(document.querySelectorAll("[data-key]"), function (el) {
      if (el.offsetParent !== null || el.getClientRects().length) found[el.dataset.key] = el;
    });
    return found;
  }
  function label(el) {
    return (el.getAttribute("aria-label") || el.textContent || "").replace(/\s+/g, " ").trim();
  }
  function help() {
    var dialog = document.getElementById("shortcut-help");
    if (dialog && dialog.open) { dialog.close(); return; }
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "shortcut-help";
      dialog.setAttribute("data-testid", "shortcut-help");
      document.body.appendChild(dialog);
    }
    var rows = [["?", "this list"], ["/", "search"]];
    Object.keys(GO).forEach(function (key) {
      var link = menuLink(GO[key]);
      if (link) rows.push(["g " + key, label(link)]);
    });
    var keys = pageKeys();
    Object.keys(keys).sort().forEach(function (key) { rows.push([key, label(keys[key])]); });
    dialog.textContent = "";
    var title = document.createElement("h2");
    title.textContent = "Keyboard shortcuts";
    dialog.appendChild(title);
    var table = document.createElement("table");
    table.className = "data";
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var k = document.createElement("td");
      var kbd = document.createElement("kbd");
      kbd.textContent = row[0];
      k.appendChild(kbd);
      var d = document.createElement("td");
      d.textContent = row[1];
      tr.appendChild(k);
      tr.appendChild(d);
      table.appendChild(tr);
    });
    dialog.appendChild(table);
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close (Esc)";
    close.addEventListener("click", function () { dialog.close(); });
    dialog.appendChild(close);
    dialog.showModal();
  }
  function search() {
    var field = document.querySelector("[data-testid=list-filters] input[type=text], [data-testid=list-filters] input:not([type])") ||
      document.querySelector("[data-shortcut-search]");
    if (field) { field.focus(); if (field.select) field.select(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    if (document.body.classList.contains("scan")) return; // scan screens: the scanner types, never shortcuts
    var key = event.key;
    if (pendingGo) {
      pendingGo = false;
      clearTimeout(goTimer);
      var link = GO[key] && menuLink(GO[key]);
      if (link) { event.preventDefault(); window.location.assign(link.href); }
      return;
    }
    if (key === "?") { event.preventDefault(); help(); return; }
    if (key === "/") { event.preventDefault(); search(); return; }
    if (key === "g") { pendingGo = true; goTimer = setTimeout(function () { pendingGo = false; }, 1500); return; }
    var el = pageKeys()[key];
    if (el) { event.preventDefault(); el.click(); }
  });
  window.erpShortcuts = { go: GO };
})();
