/* Keyboard shortcuts. A page declares them on the element they act on:
     <button data-shortcut="a" data-shortcut-label="Acknowledge">
   Pressing the key clicks a button or link, opens a <summary>'s panel and focuses its
   first field, or focuses an input. "?" lists the page's shortcuts. Nothing fires while
   the person is typing in a field, or with Ctrl, Alt or Meta held. */
(function () {
  "use strict";

  var NOT_TYPING = ["button", "submit", "reset", "checkbox", "radio", "file", "image", "range", "color"];

  function typing(element) {
    if (!element || element === document.body) return false;
    if (element.isContentEditable) return true;
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") return NOT_TYPING.indexOf((element.type || "text").toLowerCase()) < 0;
    return false;
  }

  function usable(element) {
    return !element.disabled && !element.closest("[hidden]") && element.getClientRects().length > 0;
  }

  function shortcuts() {
    return Array.prototype.filter.call(document.querySelectorAll("[data-shortcut]"), usable);
  }

  function activate(element) {
    var tag = element.tagName;
    if (tag === "SUMMARY") {
      var details = element.parentElement;
      details.open = true;
      var field = details.querySelector("input:not([type=hidden]), select, textarea");
      (field || element).focus();
      element.scrollIntoView({ block: "nearest" });
    } else if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      element.focus();
      if (element.select) element.select();
    } else {
      element.click();
    }
  }

  var dialog = null;

  function helpDialog() {
    if (dialog) dialog.remove();
    dialog = document.createElement("dialog");
    dialog.className = "shortcuts-dialog";
    dialog.setAttribute("aria-labelledby", "shortcuts-title");
    var title = document.createElement("h2");
    title.id = "shortcuts-title";
    title.textContent = "Keyboard shortcuts";
    var list = document.createElement("dl");
    list.className = "shortcuts-list";
    var rows = shortcuts().map(function (element) {
      return [element.getAttribute("data-shortcut"), element.getAttribute("data-shortcut-label") || element.textContent.trim()];
    });
    rows.push(["?", "Show this list"]);
    rows.forEach(function (row) {
      var key = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = row[0];
      key.appendChild(kbd);
      var what = document.createElement("dd");
      what.textContent = row[1];
      list.appendChild(key);
      list.appendChild(what);
    });
    var note = document.createElement("p");
    note.className = "help";
    note.textContent = "Shortcuts do nothing while you type in a field.";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn";
    close.textContent = "Close";
    close.addEventListener("click", function () { dialog.close(); });
    dialog.append(title, list, note, close);
    document.body.appendChild(dialog);
    dialog.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || typing(document.activeElement)) return;
    if (document.querySelector("dialog[open]")) return;
    if (event.key === "?") {
      event.preventDefault();
      helpDialog();
      return;
    }
    var match = shortcuts().filter(function (element) {
      return element.getAttribute("data-shortcut") === event.key;
    })[0];
    if (!match) return;
    event.preventDefault();
    activate(match);
  });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-shortcuts-help]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", helpDialog);
    });
  });
})();
