// A button.copy-button copies the value of the input named by its data-copy selector, and says so.
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("button.copy-button") : null;
  if (!button) return;
  var input = document.querySelector(button.dataset.copy);
  if (!input) return;
  input.select();
  var done = function () { button.textContent = button.dataset.done || button.textContent; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});
