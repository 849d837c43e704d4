/* The shared picker (tocsin/core/widgets.py). Without JavaScript it is a plain <select>
   (one choice) or a list of checkboxes (several). Here:
   - select[data-picker="one"] becomes a combobox: type part of a name, username, team or
     any word of the option's data-meta; arrows move, Enter or a click picks, Escape
     goes back. The <select> stays in the form (hidden) and carries the value.
   - div.picker-check (checkboxes) gets a filter box above it. */
(function () {
  "use strict";

  var LIMIT = 50;

  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function matches(haystack, query) {
    return fold(query).split(/\s+/).filter(Boolean).every(function (word) {
      return haystack.indexOf(word) >= 0;
    });
  }

  function enhanceSelect(select) {
    var id = select.id;
    var items = Array.prototype.map.call(select.options, function (option, index) {
      var meta = option.getAttribute("data-meta") || "";
      return { index: index, value: option.value, label: option.text, meta: meta, text: fold(option.text + " " + meta) };
    });
    var empty = items.filter(function (item) { return item.value === ""; })[0];

    var wrap = document.createElement("div");
    wrap.className = "picker";
    var input = document.createElement("input");
    input.type = "text";
    input.className = "picker-input";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    // Empty, the box says what empty means ("Unassigned") and how to search.
    var hint = select.getAttribute("data-placeholder") || "Type to search";
    var emptyLabel = empty ? empty.label.replace(/^[\s—-]+|[\s—-]+$/g, "") : "";
    input.placeholder = emptyLabel ? emptyLabel + " · " + hint.charAt(0).toLowerCase() + hint.slice(1) : hint;
    ["aria-describedby", "aria-invalid", "required"].forEach(function (name) {
      if (select.hasAttribute(name)) input.setAttribute(name, select.getAttribute(name));
    });
    var list = document.createElement("ul");
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;

    // The <label for=id> now names the text box; the select keeps the value, out of sight.
    select.id = id + "_select";
    input.id = id;
    list.id = id + "_listbox";
    input.setAttribute("aria-controls", list.id);
    select.parentNode.insertBefore(wrap, select);
    wrap.append(input, list, select);
    select.hidden = true;
    select.tabIndex = -1;

    var shown = [];
    var active = -1;

    function chosen() { return items[select.selectedIndex] || empty; }

    function showChosen() {
      var item = chosen();
      input.value = item && item.value ? item.label : "";
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(position) {
      var nodes = list.children;
      if (!nodes.length) return;
      active = Math.max(0, Math.min(position, nodes.length - 1));
      Array.prototype.forEach.call(nodes, function (node, i) {
        node.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", nodes[active].id);
      nodes[active].scrollIntoView({ block: "nearest" });
    }

    function render(query) {
      var current = chosen();
      shown = items.filter(function (item) { return !query || matches(item.text, query); }).slice(0, LIMIT);
      list.textContent = "";
      shown.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = list.id + "_" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        if (current && item.index === current.index) li.className = "is-chosen";
        var name = document.createElement("span");
        name.className = "picker-name";
        name.textContent = item.label;
        li.appendChild(name);
        if (item.meta) {
          var meta = document.createElement("span");
          meta.className = "picker-meta";
          meta.textContent = item.meta;
          li.appendChild(meta);
        }
        li.addEventListener("mousedown", function (event) { event.preventDefault(); });
        li.addEventListener("click", function () { choose(item); });
        list.appendChild(li);
      });
      if (!shown.length) {
        var none = document.createElement("li");
        none.className = "picker-none";
        none.textContent = "No match";
        list.appendChild(none);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      if (shown.length) highlight(query ? 0 : Math.max(0, shown.indexOf(current)));
    }

    function choose(item) {
      if (select.selectedIndex !== item.index) {
        select.selectedIndex = item.index;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      showChosen();
      close();
    }

    input.addEventListener("input", function () { render(input.value.trim()); });
    input.addEventListener("click", function () { if (list.hidden) render(""); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) { render(""); return; }
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter") {
        if (!list.hidden && shown[active]) {
          event.preventDefault();
          choose(shown[active]);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          showChosen();
          close();
        }
      }
    });
    input.addEventListener("blur", function () {
      var text = input.value.trim();
      if (!text && empty) choose(empty);
      else if (shown.length === 1 && text && fold(text) !== fold(chosen().label)) choose(shown[0]);
      else showChosen();
      close();
    });
    select.addEventListener("change", showChosen);
    showChosen();
  }

  function enhanceChecks(box) {
    var options = Array.prototype.slice.call(box.children);
    if (options.length < 6) return;  // a short list needs no filter
    var filter = document.createElement("input");
    filter.type = "search";
    filter.className = "picker-filter";
    filter.placeholder = "Filter";
    var legend = box.closest("fieldset") && box.closest("fieldset").querySelector("legend");
    filter.setAttribute("aria-label", "Filter " + (legend ? legend.textContent.trim() : "the list"));
    filter.setAttribute("aria-controls", box.id);
    box.parentNode.insertBefore(filter, box);
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault();
    });
    filter.addEventListener("input", function () {
      var query = filter.value.trim();
      options.forEach(function (option) {
        var input = option.querySelector("input");
        var text = fold(option.textContent + " " + (input && input.getAttribute("data-meta") || ""));
        option.hidden = !!query && !matches(text, query) && !(input && input.checked);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-picker='one']"), enhanceSelect);
    Array.prototype.forEach.call(document.querySelectorAll("div.picker-check"), enhanceChecks);
  });
})();
