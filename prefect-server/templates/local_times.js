// Times are sent in UTC; show them in the viewer's zone.
function prefectLocalTimes(root) {
  root.querySelectorAll("time[datetime]").forEach(function (t) {
    var at = new Date(t.getAttribute("datetime"));
    if (!isNaN(at)) { t.title = t.getAttribute("datetime"); t.textContent = at.toLocaleString(); }
  });
}
prefectLocalTimes(document);
