"""The scripts a run report may run, wherever it is opened; the reports service allows exactly these by hash.

A report is static HTML holding students' marks, so the reports service serves it sandboxed with a policy that
runs no script but these. Their text is constant (no id, no data inside), so one hash per script covers every
report; the script finds its table as the element right before it.
"""

from __future__ import annotations

from studyrec_lib.core.csp import script_hash_source

# Adds a search box to the at-risk table written just before this script (evaluation.at_risk_view).
AT_RISK_SEARCH = """
(function () {
  var root = document.currentScript.previousElementSibling;
  var rows = Array.prototype.slice.call(root.querySelectorAll("tbody tr"));
  var shownText = root.querySelector(".studyrec-at-risk-shown");
  var search = document.createElement("input");
  search.type = "search";
  search.placeholder = "Search: student, subject, grade, signal";
  search.setAttribute("aria-label", "Search the at-risk rows");
  search.addEventListener("input", function () {
    var words = search.value.trim().toLowerCase(), shown = 0;
    rows.forEach(function (row) {
      var hit = !words || row.textContent.toLowerCase().indexOf(words) >= 0;
      row.style.display = hit ? "" : "none";
      shown += hit ? 1 : 0;
    });
    shownText.textContent = words ? shown + " of " + rows.length + " rows match." : "";
  });
  root.insertBefore(search, root.querySelector(".studyrec-at-risk-box"));
})();
"""
REPORT_SCRIPT_SOURCES = " ".join(script_hash_source(script) for script in (AT_RISK_SEARCH,))
