// The progress bar of a large ledger import: polls the batch's progress (JSON) and reloads the page when the
// batch is no longer being checked or saved.
(function () {
  var box = document.querySelector(".ledger-progress");
  if (!box) return;
  var bar = box.querySelector("progress"), text = box.querySelector(".ledger-progress-text");
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (state) {
        if (state.status !== "checking" && state.status !== "applying") { window.location.reload(); return; }
        bar.max = state.total || 1; bar.value = state.done || 0;
        text.textContent = (state.done || 0) + " / " + (state.total || 0);
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
