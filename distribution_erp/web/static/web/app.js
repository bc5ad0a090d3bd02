// Small helpers for the pages; htmx does the partial updates.
(function () {
  "use strict";
  // Dashboard polling pauses while the supervisor types in one of its forms (see hx-trigger filters).
  window.erpIdle = function (panelId) {
    var panel = document.getElementById(panelId);
    var active = document.activeElement;
    return !(panel && active && panel.contains(active) && /INPUT|SELECT|TEXTAREA/.test(active.tagName));
  };
  // Scan screens: a keyboard-wedge scanner types the code and presses Enter. Enter in a scan field moves to the
  // next field instead of submitting, once the field's check came back good.
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !field.matches || !field.matches("[data-scan-next]")) return;
    event.preventDefault();
    field.dispatchEvent(new Event("change", { bubbles: true }));
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var step = event.target.closest ? event.target.closest(".scan-step") : null;
    if (!step) return;
    var input = step.querySelector("input");
    var feedback = step.querySelector(".feedback");
    var good = feedback && feedback.querySelector(".good");
    step.classList.toggle("good", !!good);
    step.classList.toggle("bad", !good);
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
