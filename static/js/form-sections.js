// Sections that fold (the activity form on a phone). Each <fieldset data-fold> gets its legend turned into a toggle
// button (aria-expanded); its other children move into a body that the toggle hides. On a phone the optional sections
// (data-fold="optional") start folded, with a summary of what is filled in beside the legend, unless they hold an
// error; the required ones and any with an error start open. Without this script every section is simply open.
(function () {
  "use strict";
  var sections = document.querySelectorAll("fieldset[data-fold]");
  if (!sections.length) return;
  var phone = window.matchMedia("(max-width: 759px)").matches;
  var serial = 0;

  function filled(section) {
    var selector = section.getAttribute("data-fold-count");
    if (!selector) return 0;
    var count = 0;
    section.querySelectorAll(selector).forEach(function (el) {
      if (el.matches("input[type=file]")) { count += el.files ? el.files.length : 0; return; }
      if (el.matches("li")) { count += el.querySelector("input[name$='-delete']:checked") ? 0 : 1; return; }
      if (el.matches("input[type=hidden]")) { count += el.value ? 1 : 0; return; }
      var value = (el.value || "").trim();
      if (el.matches("input[type=number]") && Number(value) === 0) return;
      if (value) count += 1;
    });
    return count;
  }

  function summarise(section) {
    var out = section.querySelector(".fold-summary");
    if (!out) return;
    var n = filled(section);
    out.textContent = n ? (section.getAttribute("data-fold-summary") || "{n}").replace("{n}", String(n))
      : (section.getAttribute("data-fold-empty") || "");
    out.classList.toggle("fold-summary-some", n > 0);
  }

  function setOpen(section, open) {
    var button = section.querySelector(".fold-toggle");
    var body = section.querySelector(".fold-body");
    button.setAttribute("aria-expanded", open ? "true" : "false");
    body.hidden = !open;
    section.classList.toggle("fold-closed", !open);
    if (!open) summarise(section);
  }

  sections.forEach(function (section) {
    var legend = section.querySelector(":scope > legend");
    if (!legend) return;
    serial += 1;
    var body = document.createElement("div");
    body.className = "fold-body";
    body.id = "fold-body-" + serial;
    // everything but the legend moves into the body, in order (the template itself is not restructured)
    Array.prototype.slice.call(section.childNodes).forEach(function (node) {
      if (node !== legend) body.appendChild(node);
    });
    section.appendChild(body);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "fold-toggle";
    button.setAttribute("aria-controls", body.id);
    while (legend.firstChild) button.appendChild(legend.firstChild);
    var summary = document.createElement("span");
    summary.className = "fold-summary";
    summary.setAttribute("aria-live", "polite");
    button.appendChild(summary);
    legend.appendChild(button);
    section.classList.add("fold");
    var hasError = !!body.querySelector(".errorlist, [aria-invalid=true]");
    var optional = section.getAttribute("data-fold") === "optional";
    setOpen(section, !(phone && optional && !hasError));
    button.addEventListener("click", function () {
      setOpen(section, button.getAttribute("aria-expanded") !== "true");
    });
    body.addEventListener("change", function () { summarise(section); });
  });

  // the browser's own checks (a number too large…) cannot point at a field inside a folded section: open it first
  document.addEventListener("invalid", function (event) {
    var section = event.target.closest && event.target.closest("fieldset.fold");
    if (section && section.classList.contains("fold-closed")) setOpen(section, true);
  }, true);
  // a section opened by a link to one of its fields (#id) or by a script focusing one
  document.addEventListener("focusin", function (event) {
    var section = event.target.closest && event.target.closest("fieldset.fold");
    if (section && section.classList.contains("fold-closed") && !event.target.classList.contains("fold-toggle")) {
      setOpen(section, true);
    }
  });
})();
