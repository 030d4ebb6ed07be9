// A checkbox .check-all ticks or clears every checkbox matching its data-target selector in the same form.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.matches || !box.matches("input.check-all") || !box.form) return;
  box.form.querySelectorAll(box.dataset.target).forEach(function (other) { other.checked = box.checked; });
});
