/* Django admin follows the theme chosen in Tocsin's top bar (the tocsin_theme cookie),
   and the admin's own theme button tells Tocsin what it chose. Loaded before the
   admin's theme.js, which reads localStorage "theme" ("light", "dark" or "auto"). */
(function () {
  "use strict";

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var at = parts[i].indexOf("=");
      if (parts[i].slice(0, at) === name) return decodeURIComponent(parts[i].slice(at + 1));
    }
    return "";
  }

  var chosen = cookie("tocsin_theme");
  try {
    localStorage.setItem("theme", chosen === "light" || chosen === "dark" ? chosen : "auto");
  } catch (e) {
    /* storage refused: the admin follows the system setting */
  }

  window.addEventListener("load", function () {
    var buttons = document.getElementsByClassName("theme-toggle");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function () {
        var mode = document.documentElement.getAttribute("data-theme");
        var body = new FormData();
        body.set("theme", mode === "light" || mode === "dark" ? mode : "system");
        fetch("/theme/", {
          method: "POST",
          body: body,
          credentials: "same-origin",
          headers: { "X-Requested-With": "fetch", "X-CSRFToken": cookie("csrftoken") },
        });
      });
    }
  });
})();
