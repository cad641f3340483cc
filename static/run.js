/* run.js — live updates of a run page from its Server-Sent Events
 * (GET .../events): progress bar, stage, epoch, ETA; on each new epoch the
 * server-rendered charts are fetched again and swapped in; when the run
 * ends, or enters its next stage, the page reloads to show the stage's
 * summary and the results. Without JavaScript the page
 * refreshes itself instead (a meta refresh inside <noscript>). */
(function () {
  "use strict";
  var run = document.getElementById("run");
  if (!run || run.getAttribute("data-active") !== "1" || !window.EventSource)
    return;
  var $ = function (id) { return document.getElementById(id); };
  var epochs = document.querySelectorAll("#chart-loss .series[data-series='1'] circle").length;
  var src = new EventSource(run.getAttribute("data-events") + "?epochs=" + epochs);
  var charting = false, again = false;
  var stage = (document.getElementById("run-status") || {}).textContent;

  function text(id, s) {
    var el = $(id);
    if (el) el.textContent = s;
  }

  function refreshCharts() {
    if (charting) { again = true; return; }
    charting = true;
    fetch(run.getAttribute("data-charts"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        /* server-rendered, escaped SVG from our own origin */
        if (html !== null) $("run-charts").innerHTML = html;
      })
      .catch(function () {})
      .then(function () {
        charting = false;
        if (again) { again = false; refreshCharts(); }
      });
  }

  src.addEventListener("status", function (e) {
    var s = JSON.parse(e.data);
    var bar = $("run-progress");
    if (bar) bar.value = s.progress;
    text("run-percent", s.percent + "%");
    text("run-stage", s.stage);
    text("run-epoch", s.epoch);
    text("run-eta", s.eta ? "· ETA " + s.eta : "");
    text("run-message", s.message);
    text("run-queued", s.queued);
    var st = $("run-status");
    if (st) {
      st.textContent = s.status;
      st.className = "status status-" + s.status;
    }
    /* a new stage: its summary (preprocessing, timing) is on the page */
    if (stage && stage !== s.status && s.active) window.location.reload();
    stage = s.status;
  });
  src.addEventListener("epoch", function () {
    refreshCharts();
  });
  /* A stream refused (too many live views: 429) or gone for good:
   * say so and follow the run by reloading the page instead. While
   * the browser is reconnecting by itself, readyState is CONNECTING. */
  src.onerror = function () {
    if (src.readyState !== EventSource.CLOSED) return;
    var live = $("run-live");
    if (live) {
      live.textContent = "Live updates are paused: too many live views " +
        "are open. This page refreshes every 10 seconds instead.";
      live.hidden = false;
    }
    window.setTimeout(function () { window.location.reload(); }, 10000);
  };
  src.addEventListener("done", function () {
    src.close();
    /* the results (confusion matrix, model) are on the full page */
    window.setTimeout(function () { window.location.reload(); }, 300);
  });
})();
