/* confirm.js — a destructive button is a GET form to its action's path,
 * which answers with a confirmation page (works without JavaScript).
 * With JavaScript the same question comes as a dialog, and on "OK" the
 * action is POSTed directly with the form's CSRF token. */
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f.classList || !f.classList.contains("confirm")) return;
    e.preventDefault();
    if (!window.confirm(f.getAttribute("data-confirm"))) return;
    var p = document.createElement("form");
    p.method = "post";
    p.action = f.getAttribute("action");
    var c = document.createElement("input");
    c.type = "hidden";
    c.name = "csrf";
    c.value = f.getAttribute("data-csrf");
    p.appendChild(c);
    document.body.appendChild(p);
    p.submit();
  });
})();
