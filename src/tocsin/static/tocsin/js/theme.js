/* The top bar's theme switch, without a page load: the buttons post the choice (the
   server keeps it in a cookie) and the page changes at once. Without this file the
   same buttons post the form and the page comes back in the chosen theme. */
(function () {
  "use strict";

  function choose(form, theme) {
    var root = document.documentElement;
    if (theme === "light" || theme === "dark") root.setAttribute("data-theme", theme);
    else root.removeAttribute("data-theme");
    var buttons = form.querySelectorAll("button[name=theme]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute("aria-pressed", buttons[i].value === theme ? "true" : "false");
    }
  }

  function fallBack(form, button) {
    /* not remembered: post the form the ordinary way, which says why */
    if (form.requestSubmit) form.requestSubmit(button);
    else form.submit();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-theme-switch] button[name=theme]");
    if (!button || !window.fetch || !window.FormData) return;
    var form = button.form;
    event.preventDefault();
    var data = new FormData(form);
    data.set("theme", button.value);
    choose(form, button.value);
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    }).then(function (response) {
      if (!response.ok) fallBack(form, button);
    }, function () {
      fallBack(form, button);
    });
  });
})();
