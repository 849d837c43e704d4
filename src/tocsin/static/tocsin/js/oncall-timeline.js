/* The schedule page's timeline (oncall/templates/oncall/schedule.html). Without this
   file the override form works alone. Here:
   - dragging across the final schedule's row (or clicking its start, then its end)
     picks a span: the override form's Start and End are filled (in the viewer's zone,
     the timeline's data-tz, to the half hour) and the form is scrolled into view;
   - when Start or End change, the list of who is on call in that span is fetched
     again from the page itself (GET ?start=&end=, which changes nothing). */
(function () {
  "use strict";

  var SNAP = 30 * 60 * 1000;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  /* "2026-03-02T09:00" for an instant, in the zone `tz`. */
  function localValue(ms, tz) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + "T" + parts.hour + ":" + parts.minute;
  }

  function setup(tl) {
    var track = tl.querySelector("[data-oc-pick]");
    var form = document.querySelector("[data-oc-override-form]");
    if (!track || !form) return;
    var since = Date.parse(tl.getAttribute("data-since"));
    var until = Date.parse(tl.getAttribute("data-until"));
    var tz = tl.getAttribute("data-tz") || "UTC";
    if (isNaN(since) || isNaN(until) || until <= since) return;
    var startInput = form.querySelector("[name='start']");
    var endInput = form.querySelector("[name='end']");
    var hint = document.querySelector(".oc-pick-hint");
    if (hint) hint.hidden = false;

    var box = document.createElement("div");
    box.className = "oc-pick";
    box.hidden = true;
    track.appendChild(box);

    function instantAt(clientX) {
      var rect = track.getBoundingClientRect();
      var share = Math.min(Math.max((clientX - rect.left) / rect.width, 0), 1);
      var ms = since + share * (until - since);
      return Math.min(Math.max(since + Math.round((ms - since) / SNAP) * SNAP, since), until);
    }

    function show(a, b) {
      var lo = Math.min(a, b), hi = Math.max(a, b);
      box.hidden = false;
      box.style.left = ((lo - since) / (until - since) * 100) + "%";
      box.style.width = (Math.max(hi - lo, SNAP / 4) / (until - since) * 100) + "%";
    }

    function fill(a, b) {
      var lo = Math.min(a, b), hi = Math.max(a, b);
      if (hi === lo) hi = lo + SNAP;
      startInput.value = localValue(lo, tz);
      endInput.value = localValue(hi, tz);
      show(lo, hi);
      refreshSpan();
      var panel = document.getElementById("override-panel") || form;
      panel.scrollIntoView({ block: "start", behavior: "smooth" });
      var who = form.querySelector("[name='user']");
      var picker = who && who.parentElement.querySelector(".picker-input");
      (picker || who || startInput).focus({ preventScroll: true });
    }

    var anchor = null;     // a drag in progress: where it began
    var firstClick = null; // click mode: the start picked by the first click
    var moved = false;

    track.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      anchor = instantAt(event.clientX);
      moved = false;
      track.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    track.addEventListener("pointermove", function (event) {
      if (anchor === null) return;
      var here = instantAt(event.clientX);
      if (here !== anchor) moved = true;
      if (moved) show(anchor, here);
    });
    track.addEventListener("pointerup", function (event) {
      if (anchor === null) return;
      var here = instantAt(event.clientX);
      var began = anchor;
      anchor = null;
      if (moved && here !== began) {
        firstClick = null;
        fill(began, here);
      } else if (firstClick === null) {
        firstClick = here;
        show(here, here);
      } else {
        var a = firstClick;
        firstClick = null;
        fill(a, here);
      }
    });

    var timer = null;
    function refreshSpan() {
      window.clearTimeout(timer);
      timer = window.setTimeout(fetchSpan, 250);
    }
    function fetchSpan() {
      var region = form.querySelector("[data-oc-span-oncall]");
      if (!region || !startInput.value || !endInput.value) return;
      var url = new URL(tl.getAttribute("data-page") || window.location.href, window.location.href);
      url.hash = "";
      url.searchParams.set("start", startInput.value);
      url.searchParams.set("end", endInput.value);
      fetch(url.toString(), { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.querySelector("[data-oc-span-oncall]");
          if (fresh) region.innerHTML = fresh.innerHTML;
        })
        .catch(function () { /* the form still works */ });
    }
    startInput.addEventListener("change", refreshSpan);
    endInput.addEventListener("change", refreshSpan);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-oc-timeline]"), setup);
  });
})();
