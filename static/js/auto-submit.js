// Selects marked .auto-submit send their form when changed (the year picker); without script a button shows.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.matches && target.matches("select.auto-submit") && target.form) {
    target.form.submit();
  }
});
