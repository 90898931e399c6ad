// Buttons post JSON to the API (a page on another site cannot: the
// server takes writes only as application/json, which needs a preflight
// it never answers) and show the answer, or the error and its field.
// On a keyed server the page is signed in by cookie, and each write echoes
// the CSRF cookie's token in a header (a page elsewhere cannot read it).
function prefectHeaders() {
  var headers = { "Content-Type": "application/json" };
  var csrf = document.cookie.split("; ").filter(function (c) { return c.indexOf("prefect_csrf=") === 0; })[0];
  if (csrf) headers["X-CSRF-Token"] = csrf.slice("prefect_csrf=".length);
  return headers;
}
function prefectPost(url, body, result, method) {
  result.textContent = "…";
  return fetch(url, { method: method || "POST", headers: prefectHeaders(), body: JSON.stringify(body) })
    .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
    .then(function (answer) {
      if (answer.ok) { result.textContent = "done: " + (answer.data.state || answer.data.name || "ok"); }
      else { result.textContent = (answer.data.field ? answer.data.field + ": " : "") + answer.data.error; }
      return answer;
    })
    .catch(function (e) { result.textContent = String(e); });
}
function prefectActions(base) {
  var result = document.getElementById("action-result");
  document.querySelectorAll("button[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var body = {}, action = button.getAttribute("data-action");
      if (action === "resume") {
        var text = document.getElementById("resume-input").value.trim();
        if (text) {
          try { body.input = JSON.parse(text); } catch (e) { result.textContent = "input: not JSON"; return; }
        }
      }
      if (action === "delete") {
        // Gone for good: asked first, then back to the list.
        if (!confirm("Delete this run with its task runs and logs?")) return;
        prefectPost(base, body, result, "DELETE").then(function (a) { if (a && a.ok) { location.href = "/runs"; } });
        return;
      }
      prefectPost(base + "/" + action, body, result).then(function (a) { if (a && a.ok) { setTimeout(function () { location.reload(); }, 300); } });
    });
  });
}
