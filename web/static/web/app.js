// Small helpers for the pages; htmx does the partial updates.
(function () {
  "use strict";
  // Dashboard polling pauses while the supervisor types in one of its forms (see hx-trigger filters).
  window.erpIdle = function (panelId) {
    var panel = document.getElementById(panelId);
    var active = document.activeElement;
    return !(panel && active && panel.contains(active) && /INPUT|SELECT|TEXTAREA/.test(active.tagName));
  };
  // The pages' Content-Security-Policy allows no inline handlers and no eval (htmx's allowEval is off): the few
  // behaviours that used them are wired here from data attributes.
  // <select data-autosubmit>: choosing an option submits its form (site switcher, exception assignee).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) field.form.submit();
  });
  // <input type=checkbox data-select-all="form-id">: ticks or clears every row checkbox of that bulk form (lists).
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box.matches && box.matches("input[data-select-all]"))) return;
    var rows = document.querySelectorAll('input[data-row-select][form="' + box.dataset.selectAll + '"]');
    rows.forEach(function (row) { row.checked = box.checked; });
  });
  // <form data-confirm="Question?"> (or the clicked <button data-confirm>): submitted only when the user confirms.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var ask = (button && button.dataset && button.dataset.confirm) || (form.dataset && form.dataset.confirm);
    if (ask && !window.confirm(ask)) event.preventDefault();
  }, true);
  // <a data-fill="id" data-value="v">: puts v into the field #id and tells htmx it changed (customer suggestions).
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-fill]") : null;
    if (!link) return;
    event.preventDefault();
    var field = document.getElementById(link.dataset.fill);
    if (!field) return;
    field.value = link.dataset.value;
    field.dispatchEvent(new Event("change", { bubbles: true }));
  });
  // <button data-next-line-index="selector" hx-get=...>: sends index = 1 + the highest n of the rows' ids (line-n).
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.dataset || !elt.dataset.nextLineIndex) return;
    var rows = Array.from(document.querySelectorAll(elt.dataset.nextLineIndex));
    var index = rows.length ? Math.max.apply(null, rows.map(function (r) { return +r.id.split("-")[1]; })) + 1 : 0;
    event.detail.parameters.index = index;
  });
  // <form data-progress-url="u" data-progress-target="#id">: while the form's POST runs (a dry run), the page polls
  // u into #id (the fragment keeps polling itself) until the POST's answer replaces the page.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.dataset || !form.dataset.progressUrl || !window.htmx) return;
    var url = form.dataset.progressUrl, target = form.dataset.progressTarget;
    window.setTimeout(function () { window.htmx.ajax("GET", url, { target: target, swap: "outerHTML" }); }, 400);
  });
  // <div data-poll-when-idle hx-trigger="every Ns">: a poll is skipped while the user types in one of its forms.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.dataset && elt.dataset.pollWhenIdle !== undefined && !window.erpIdle(elt.id)) event.preventDefault();
  });
  // Scan screens: a keyboard-wedge scanner types the code and presses Enter. Enter in a scan field moves to the
  // next field instead of submitting, once the field's check came back good.
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !field.matches || !field.matches("[data-scan-next]")) return;
    event.preventDefault();
    field.dispatchEvent(new Event("change", { bubbles: true }));
  });
  // Scan screens: "Menu" in the one-line header opens the full menu below it; a second click on "Menu", a click or
  // tap anywhere outside the menu, or Escape closes it. The state is the class "open" on #main-menu (body.menu-js
  // tells the CSS so); without JavaScript the link still opens the menu through #main-menu:target.
  document.body.classList.add("menu-js");
  function scanMenu(open) {
    var menu = document.getElementById("main-menu");
    var link = document.querySelector(".scan-menu-link");
    if (!menu || !link) return;
    menu.classList.toggle("open", open);
    link.setAttribute("aria-expanded", open ? "true" : "false");
  }
  function scanMenuOpen() {
    var menu = document.getElementById("main-menu");
    return !!(menu && menu.classList.contains("open"));
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.body.classList.contains("scan")) scanMenu(window.location.hash === "#main-menu");
  });
  window.addEventListener("hashchange", function () {
    if (document.body.classList.contains("scan") && window.location.hash === "#main-menu") scanMenu(true);
  });
  document.addEventListener("click", function (event) {
    if (!document.body.classList.contains("scan")) return;
    var link = event.target.closest ? event.target.closest(".scan-menu-link") : null;
    if (link) {
      event.preventDefault();
      scanMenu(!scanMenuOpen());
      return;
    }
    var menu = document.getElementById("main-menu");
    if (scanMenuOpen() && menu && !menu.contains(event.target)) scanMenu(false);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && scanMenuOpen()) {
      scanMenu(false);
      var link = document.querySelector(".scan-menu-link");
      if (link) link.focus();
    }
  });
  // Scan feedback: a wrong scan plays a low short tone and vibrates (200 ms) where the device can; a good scan a
  // softer, higher tone. Tones are WebAudio oscillators (no audio file). The operator's "Sound" switch in the scan
  // header is kept in localStorage ("erp.scanSound" = "off" mutes the tones; the vibration stays: it is silent).
  // counts / last and <body data-scan-feedback> tell tests and support what happened.
  var audio = null;
  function soundOn() {
    try { return window.localStorage.getItem("erp.scanSound") !== "off"; } catch (e) { return true; }
  }
  function tone(good) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return false;
    try {
      audio = audio || new Ctx();
      if (audio.state === "suspended" && audio.resume) audio.resume();
      var osc = audio.createOscillator(), gain = audio.createGain(), now = audio.currentTime;
      var length = good ? 0.07 : 0.25;
      osc.type = good ? "sine" : "square";
      osc.frequency.value = good ? 1320 : 220;
      gain.gain.setValueAtTime(good ? 0.05 : 0.25, now);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + length);
      osc.connect(gain).connect(audio.destination);
      osc.start(now);
      osc.stop(now + length);
      return true;
    } catch (e) { return false; }
  }
  window.erpScanFeedback = function (good) {
    var record = window.erpScanFeedback;
    var sound = soundOn() && tone(good);
    var vibrated = false;
    if (!good && navigator.vibrate) { try { vibrated = navigator.vibrate(200) !== false; } catch (e) { vibrated = false; } }
    record.counts[good ? "good" : "bad"] += 1;
    record.last = { good: good, sound: sound, vibrated: vibrated };
    document.body.dataset.scanFeedback = good ? "good" : "bad";
  };
  window.erpScanFeedback.counts = { good: 0, bad: 0 };
  window.erpScanFeedback.last = null;
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-scan-sound]").forEach(function (box) { box.checked = soundOn(); });
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box.matches && box.matches("input[data-scan-sound]"))) return;
    try { window.localStorage.setItem("erp.scanSound", box.checked ? "on" : "off"); } catch (e) { /* private mode */ }
  });
  // Count screen: the kept location (data-kept) is selected when the operator goes back to it, so the next scan
  // replaces it; once it holds another location, the "Current location" card no longer applies.
  document.addEventListener("focusin", function (event) {
    var field = event.target;
    if (field.matches && field.matches("input[data-kept]") && field.select) field.select();
  });
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!(field.matches && field.matches("input[data-kept]"))) return;
    var card = document.querySelector(".kept-location");
    if (card) card.hidden = field.value.trim() !== field.defaultValue.trim();
  });
  // A GS1-128 label scanned into the item field (scan check answers data-fill-lot / data-fill-quantity /
  // data-fill-expiry) fills the lot, quantity and expiry fields the screen has and the operator left empty.
  document.addEventListener("htmx:afterSwap", function (event) {
    var fill = event.target.querySelector ? event.target.querySelector("[data-label-fill]") : null;
    if (!fill) return;
    [["lot", fill.dataset.fillLot], ["quantity", fill.dataset.fillQuantity], ["expiry", fill.dataset.fillExpiry]].forEach(function (pair) {
      var field = document.getElementById("f-" + pair[0]);
      if (field && pair[1] && !field.value) field.value = pair[1];
    });
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var step = event.target.closest ? event.target.closest(".scan-step") : null;
    if (!step) return;
    var input = step.querySelector("input");
    var feedback = step.querySelector(".feedback");
    var good = feedback && feedback.querySelector(".good");
    step.classList.toggle("good", !!good);
    step.classList.toggle("bad", !good);
    if (feedback && feedback.textContent.trim()) window.erpScanFeedback(!!good);
    // Move only while the operator is still on this field: a late answer (the browser's own change event when
    // focus leaves the field) must not pull the cursor back while the next scan is being typed.
    var here = document.activeElement === input || document.activeElement === document.body;
    if (!here) return;
    if (good && input && input.dataset.scanNext) {
      var next = document.getElementById(input.dataset.scanNext);
      if (next) { next.focus(); if (next.select) next.select(); }
    } else if (input) {
      input.select();
    }
  });
})();
