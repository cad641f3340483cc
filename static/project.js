/* project.js — the project page: (1) a dataset being inspected shows its
 * new status as soon as the inspection ends (a small poll of
 * .../datasets/{did}/status every 2 s; without JavaScript the page
 * refreshes itself while one is pending); (2) the upload shows a progress
 * bar (XHR upload progress; without JavaScript the plain form posts). */
(function () {
  "use strict";
  var pending = document.querySelectorAll("td.ds-status[data-poll]");
  Array.prototype.forEach.call(pending, function (td) {
    var timer = window.setInterval(function () {
      fetch(td.getAttribute("data-poll"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s || s.status === "uploaded" || s.status === "inspecting") return;
          window.clearInterval(timer);
          var badge = td.querySelector(".status");
          badge.textContent = s.status;
          badge.className = "status status-" + s.status;
          var link = td.querySelector(".health-link");
          link.textContent = "health report";
          if (s.error) {
            var e = document.createElement("span");
            e.className = "small muted";
            e.textContent = s.error;
            td.insertBefore(document.createElement("br"), link);
            td.insertBefore(e, link);
            td.insertBefore(document.createElement("br"), link);
          }
          td.removeAttribute("data-poll");
        })
        .catch(function () {});
    }, 2000);
  });

  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var bar = document.getElementById("upload-progress");
  var text = document.getElementById("upload-text");
  form.addEventListener("submit", function (e) {
    var file = form.querySelector("input[type=file]").files[0];
    var max = Number(form.getAttribute("data-max-mb")) * 1024 * 1024;
    /* over the limit: the plain form, so the server's page says why */
    if (!file || (max > 0 && file.size > max)) return;
    e.preventDefault();
    var xhr = new XMLHttpRequest();
    var button = form.querySelector("button[type=submit]");
    xhr.open("POST", form.getAttribute("action"));
    xhr.upload.addEventListener("progress", function (p) {
      if (!p.lengthComputable) return;
      bar.value = p.loaded / p.total;
      text.textContent = Math.round(100 * p.loaded / p.total) + "% sent";
    });
    xhr.addEventListener("load", function () {
      if (xhr.status < 400) { /* the redirect, followed: the project page */
        window.location.href = xhr.responseURL;
        return;
      }
      /* the server's error page, as a plain post would have shown it */
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () {
      text.textContent = "The upload was cut off: check the connection and try again.";
      text.className = "alert error";
      button.disabled = false;
    });
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    text.className = "hint";
    text.textContent = "sending…";
    xhr.send(new FormData(form));
  });
})();
