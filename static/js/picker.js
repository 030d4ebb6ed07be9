// Type-ahead pickers (portal/widgets.py PickerWidget): the plain id input becomes an ARIA combobox reading the
// scoped JSON endpoint in data-picker-url (?q=, at most 20 results). Arrows move, Enter picks, Esc closes.
// Without this script the page keeps the plain input (an id, checked by the form against the viewer's scope).
(function () {
  "use strict";
  var count = 0;

  function setup(box) {
    var value = box.querySelector("input.picker-value");
    var chosen = box.querySelector("output.picker-chosen");
    if (!value || box.getAttribute("data-picker-ready")) return;
    box.setAttribute("data-picker-ready", "1");
    count += 1;
    var listId = "picker-list-" + count;
    var text = document.createElement("input");
    text.type = "text";
    text.id = value.id;
    value.id = value.id + "_value";
    value.type = "hidden";
    value.removeAttribute("aria-describedby");
    text.className = "picker-input";
    text.value = chosen ? chosen.textContent : "";
    text.placeholder = box.getAttribute("data-picker-placeholder") || "";
    text.setAttribute("role", "combobox");
    text.setAttribute("aria-autocomplete", "list");
    text.setAttribute("aria-expanded", "false");
    text.setAttribute("aria-controls", listId);
    text.setAttribute("autocomplete", "off");
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    if (chosen) chosen.hidden = true;
    box.insertBefore(text, value);
    box.appendChild(list);

    var label = text.value, items = [], active = -1, timer = null, asked = 0;

    function close() {
      list.hidden = true;
      text.setAttribute("aria-expanded", "false");
      text.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      active = index;
      for (var i = 0; i < options.length; i++) options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      if (index >= 0 && options[index]) {
        text.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        text.removeAttribute("aria-activedescendant");
      }
    }

    function pick(index) {
      var item = items[index];
      if (!item) return;
      value.value = String(item.id);
      label = item.label;
      text.value = item.label;
      close();
      value.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function show(results) {
      items = results;
      list.textContent = "";
      if (!results.length) {
        var none = document.createElement("li");
        none.className = "picker-empty";
        none.textContent = box.getAttribute("data-picker-empty") || "";
        list.appendChild(none);
      }
      results.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = item.label;
        if (item.hint) {
          var hint = document.createElement("small");
          hint.textContent = item.hint;
          li.appendChild(hint);
        }
        li.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the input
          pick(i);
        });
        list.appendChild(li);
      });
      list.hidden = false;
      text.setAttribute("aria-expanded", "true");
      highlight(results.length ? 0 : -1);
    }

    function ask() {
      var q = text.value.trim();
      if (!q) { close(); return; }
      var url = box.getAttribute("data-picker-url") + "?q=" + encodeURIComponent(q);
      var narrow = box.getAttribute("data-picker-narrow");
      if (narrow && value.form && value.form.elements[narrow] && value.form.elements[narrow].value) {
        url += "&" + encodeURIComponent(narrow) + "=" + encodeURIComponent(value.form.elements[narrow].value);
      }
      var mine = ++asked;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { if (mine === asked && document.activeElement === text) show(data.results || []); })
        .catch(function () { /* offline: the input stays as typed */ });
    }

    // an emptied box drops the choice when it is left or its form is sent (Esc first brings the choice back)
    function dropIfEmpty() {
      if (!text.value.trim()) { value.value = ""; label = ""; }
    }
    if (value.form) value.form.addEventListener("submit", dropIfEmpty);
    text.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    text.addEventListener("keydown", function (event) {
      var open = !list.hidden && items.length;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) { ask(); return; }
        if (open) highlight((active + 1) % items.length);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (open) highlight((active - 1 + items.length) % items.length);
      } else if (event.key === "Enter") {
        if (open && active >= 0) { event.preventDefault(); pick(active); }
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
        text.value = label;
      }
    });
    text.addEventListener("blur", function () {
      close();
      dropIfEmpty();
      text.value = label;
    });
  }

  function setupAll() {
    var boxes = document.querySelectorAll(".picker[data-picker-url]");
    for (var i = 0; i < boxes.length; i++) setup(boxes[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setupAll);
  else setupAll();
})();
