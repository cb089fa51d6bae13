// The live page: outcome events from /live/events, newest first, kept to 500 rows. Rows are
// built with textContent only: an event's fields are never read as HTML.
(function () {
  "use strict";
  var table = document.getElementById("live");
  var rows = document.getElementById("live-rows");
  var state = document.getElementById("live-state");
  var params = new URLSearchParams();
  if (table.dataset.kind) params.set("kind", table.dataset.kind);
  if (table.dataset.outcome) params.set("outcome", table.dataset.outcome);
  var source = new EventSource("/live/events?" + params.toString());
  source.onopen = function () { state.textContent = "listening"; };
  source.onerror = function () { state.textContent = "reconnecting…"; };
  source.onmessage = function (e) {
    var ev;
    try { ev = JSON.parse(e.data); } catch (err) { return; }
    var tr = document.createElement("tr");
    tr.className = "outcome-" + ev.outcome;
    [ev.at, ev.kind, ev.job_id, ev.outcome, ev.code || "-", String(ev.attempts)].forEach(function (v, i) {
      var td = document.createElement("td");
      td.textContent = v;
      if (i === 5) td.className = "num";
      tr.appendChild(td);
    });
    rows.insertBefore(tr, rows.firstChild);
    while (rows.children.length > 500) rows.removeChild(rows.lastChild);
  };
})();
