// Suggested knowledge articles under a new incident's description (learning app):
// while someone types the title or description, ask kb/suggest/ (a GET that only reads)
// and list the matching articles. Built with textContent only: nothing typed or stored
// is ever parsed as HTML.
(function () {
  "use strict";
  function setup(box) {
    var form = box.closest("form");
    if (!form) return;
    var url = box.getAttribute("data-kb-suggest");
    var list = box.querySelector(".kb-suggest-list");
    var fields = [form.elements.namedItem("title"), form.elements.namedItem("description")]
      .filter(function (f) { return f && f.addEventListener; });
    var timer = null;
    var last = "";
    var seq = 0;

    function show(items) {
      while (list.firstChild) list.removeChild(list.firstChild);
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "kb-suggest-item";
        var a = document.createElement("a");
        a.href = item.url;
        a.target = "_blank";
        a.rel = "noopener";
        a.textContent = item.title;
        li.appendChild(a);
        if (item.snippet) {
          var p = document.createElement("p");
          p.className = "muted small";
          p.textContent = item.snippet.length > 140 ? item.snippet.slice(0, 139) + "…" : item.snippet;
          li.appendChild(p);
        }
        list.appendChild(li);
      });
      box.hidden = items.length === 0;
    }

    function ask() {
      var text = fields.map(function (f) { return f.value; }).join(" ").trim().slice(0, 500);
      if (text === last) return;
      last = text;
      if (text.length < 3) { show([]); return; }
      var mine = ++seq;
      fetch(url + "?q=" + encodeURIComponent(text), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (data) { if (mine === seq) show(data.items || []); })
        .catch(function () { /* suggestions are a help, never in the way */ });
    }

    fields.forEach(function (f) {
      f.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(ask, 250);
      });
    });
    ask();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-kb-suggest]").forEach(setup);
  });
})();
