/* Tocsin's small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  /* --- durations and SLA countdowns ------------------------------------------ */
  function duration(seconds) {
    seconds = Math.abs(Math.floor(seconds));
    if (seconds < 60) return "<1m";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + "m";
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 24) return minutes ? hours + "h " + minutes + "m" : hours + "h";
    var days = Math.floor(hours / 24);
    hours = hours % 24;
    return hours ? days + "d " + hours + "h" : days + "d";
  }

  var TONES = ["sla-ok", "sla-warning", "sla-critical", "sla-breached"];

  function tick() {
    var now = Date.now();
    var clocks = document.querySelectorAll(".sla[data-due]");
    for (var i = 0; i < clocks.length; i++) {
      var el = clocks[i];
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) continue;
      var total = parseFloat(el.getAttribute("data-total")) || 0;
      var left = (due - now) / 1000;
      var tone, text;
      if (left <= 0) {
        tone = "sla-breached";
        text = "breached " + duration(left) + " ago";
      } else {
        // by the share of the target used: amber past 50 %, red past 80 % (tocsin_ui.sla_tone)
        var used = total ? 1 - left / total : 0;
        tone = used > 0.8 ? "sla-critical" : used > 0.5 ? "sla-warning" : "sla-ok";
        text = duration(left) + " left";
      }
      var label = el.querySelector(".sla-text");
      if (label && label.textContent !== text) label.textContent = text;
      if (!el.classList.contains(tone)) {
        el.classList.remove.apply(el.classList, TONES);
        el.classList.add(tone);
      }
    }
  }

  /* --- parts of a page that refresh themselves (short polling) ---------------------- */
  var lastHtml = new WeakMap();

  function refresh(container) {
    var url = container.getAttribute("data-refresh-url");
    if (!url || document.hidden) return;
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        // A redirect (session ended) or an error: keep what is on screen.
        if (!response.ok || response.redirected) return null;
        return response.text();
      })
      .then(function (html) {
        if (html === null || html === undefined) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelectorAll("[data-live-region]");
        for (var i = 0; i < fresh.length; i++) {
          var name = fresh[i].getAttribute("data-live-region");
          var current = document.querySelector('[data-live-region="' + name + '"]');
          if (!current) continue;
          var active = document.activeElement;
          if (active && active !== document.body && current.contains(active)) continue;
          var next = fresh[i].innerHTML;
          if (lastHtml.get(current) === next) continue;
          var oldStatus = current.getAttribute("data-status");
          var newStatus = fresh[i].getAttribute("data-status");
          current.innerHTML = next;
          lastHtml.set(current, next);
          if (oldStatus && newStatus && oldStatus !== newStatus) {
            current.setAttribute("data-status", newStatus);
            var banner = document.querySelector("[data-changed-banner]");
            if (banner) banner.hidden = false;
          }
        }
        tick();
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  function startRefreshing() {
    var containers = document.querySelectorAll("[data-refresh-url]");
    Array.prototype.forEach.call(containers, function (container) {
      var regions = container.querySelectorAll("[data-live-region]");
      Array.prototype.forEach.call(regions, function (r) { lastHtml.set(r, r.innerHTML); });
      var seconds = parseInt(container.getAttribute("data-refresh-interval"), 10) || 20;
      window.setInterval(function () { refresh(container); }, Math.max(seconds, 5) * 1000);
      document.addEventListener("visibilitychange", function () {
        if (!document.hidden) refresh(container);
      });
    });
  }

  /* --- priority preview from the matrix ------------------------------------------ */
  function checkedValue(form, name) {
    var field = form.elements[name];
    if (!field) return null;
    if (field.value !== undefined && field.tagName === "SELECT") return field.value;
    if (field.length !== undefined) {
      for (var i = 0; i < field.length; i++) if (field[i].checked) return field[i].value;
      return null;
    }
    return field.value;
  }

  function setupPriorityPreview(form) {
    var matrix;
    try { matrix = JSON.parse(form.getAttribute("data-matrix")); } catch (e) { return; }
    var outputs = form.querySelectorAll("[data-priority-preview]");
    if (!outputs.length) return;
    function update() {
      var impact = checkedValue(form, "impact");
      var urgency = checkedValue(form, "urgency");
      if (!impact || !urgency || !matrix[urgency]) return;
      var p = matrix[urgency][impact];
      if (!p) return;
      Array.prototype.forEach.call(outputs, function (output) {
        var badge = output.querySelector(".badge") || document.createElement("span");
        badge.className = "badge prio prio-" + p;
        badge.textContent = "P" + p;
        badge.title = "Priority P" + p;
        if (!badge.parentNode) output.appendChild(badge);
      });
    }
    form.addEventListener("change", function (event) {
      var name = event.target && event.target.name;
      if (name === "impact" || name === "urgency") update();
    });
    update();
  }

  /* --- subcategories follow the chosen category ---------------------------------- */
  function setupSubcategories(form) {
    var category = form.elements.category;
    var sub = form.elements.subcategory;
    if (!category || !sub || category.tagName !== "SELECT") return;
    function update() {
      var chosen = category.options[category.selectedIndex];
      var label = chosen && chosen.value ? chosen.text : null;
      var groups = sub.querySelectorAll("optgroup");
      var keep = false;
      for (var i = 0; i < groups.length; i++) {
        var match = label !== null && groups[i].label === label;
        groups[i].hidden = !match;
        groups[i].disabled = !match;
        if (match && sub.selectedOptions.length && groups[i].contains(sub.selectedOptions[0])) {
          keep = true;
        }
      }
      if (!keep && sub.value) sub.value = "";
    }
    category.addEventListener("change", update);
    update();
  }

  /* --- small things ---------------------------------------------------------- */
  function setupAutosubmit(form) {
    form.addEventListener("change", function (event) {
      if (event.target && event.target.tagName === "SELECT") form.submit();
    });
  }

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }

  document.addEventListener("DOMContentLoaded", function () {
    each("form[data-matrix]", setupPriorityPreview);
    each("form", setupSubcategories);
    each("form[data-autosubmit]", setupAutosubmit);
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (form && form.hasAttribute && form.hasAttribute("data-confirm")) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      }
    }, true);
    tick();
    window.setInterval(tick, 1000);
    startRefreshing();
  });
})();
