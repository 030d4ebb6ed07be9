// The activity form is never lost, never sent twice.
// - Draft as you go: the fields (not the file input; photo_token inputs are kept) are saved in localStorage under
//   "portal-draft:<user>:<path>" while typing, and put back after a reload with a notice and a 清除 button.
// - The submit_key (a hidden field the server made) stays the same across retries of one form; a page that
//   carries a key already used (a copy from the service worker's cache) gets a new one.
// - Submitting: a copy goes to the outbox (outbox.js) first, with the photos of the file input. Without a
//   connection it waits there and the form is emptied for the next activity; with one, the form is posted as
//   usual, and the server's answer drops the copy (saved) or shows the form again with its errors. Photos that
//   could not go up for want of a connection (photo-upload.js keeps them) send the form to the outbox with them,
//   even where the phone believes it is online.
(function () {
  "use strict";
  var keyInput = document.querySelector("form input[name=submit_key]");
  var box = document.querySelector("[data-draft]");
  if (!keyInput || !box || !window.localStorage) return;
  var form = keyInput.form;
  var outbox = window.PortalOutbox;
  var storageKey = "portal-draft:" + box.getAttribute("data-draft-user") + ":" + location.pathname + location.search;
  var SKIP = { csrfmiddlewaretoken: true };

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function fields() {
    var pairs = [];
    Array.prototype.forEach.call(form.elements, function (element) {
      var name = element.name;
      if (!name || SKIP[name] || element.disabled) return;
      var type = element.type;
      if (type === "file" || type === "submit" || type === "button" || type === "reset") return;
      if ((type === "checkbox" || type === "radio") && !element.checked) return;
      if (type === "select-multiple") {
        Array.prototype.forEach.call(element.selectedOptions, function (option) { pairs.push([name, option.value]); });
        return;
      }
      pairs.push([name, element.value]);
    });
    return pairs;
  }

  function readDraft() {
    try { return JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (e) { return null; }
  }

  function saveDraft() {
    try {
      localStorage.setItem(storageKey, JSON.stringify({ key: keyInput.value, fields: fields(), saved: new Date().toISOString() }));
    } catch (e) { /* storage full or refused: the form still works */ }
  }

  function clearDraft() { localStorage.removeItem(storageKey); }

  // formset rows added by hand come back before their values (formset-rows.js's "add a row" buttons)
  function growFormsets(values) {
    form.querySelectorAll("[data-formset]").forEach(function (set) {
      var prefix = set.getAttribute("data-formset");
      var total = form.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
      var wanted = parseInt((values[prefix + "-TOTAL_FORMS"] || [])[0], 10);
      var add = set.querySelector("[data-add]");
      var guard = 50;
      while (total && add && wanted > (parseInt(total.value, 10) || 0) && guard--) add.click();
    });
  }

  function restore(pairs) {
    var values = {};
    pairs.forEach(function (pair) { (values[pair[0]] = values[pair[0]] || []).push(pair[1]); });
    growFormsets(values);
    var used = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      var name = element.name;
      if (!name || SKIP[name] || !(name in values)) return;
      var type = element.type;
      if (type === "file" || type === "submit" || type === "button") return;
      if (type === "checkbox" || type === "radio") {
        element.checked = values[name].indexOf(element.value) !== -1;
      } else if (type === "select-multiple") {
        Array.prototype.forEach.call(element.options, function (option) { option.selected = values[name].indexOf(option.value) !== -1; });
      } else {
        var index = used[name] || 0;
        if (index < values[name].length) element.value = values[name][index];
        used[name] = index + 1;
      }
    });
    // photo tokens of uploads made before the reload: hidden inputs the page may not have drawn
    var tokens = values.photo_token || [];
    tokens.slice(used.photo_token || 0).forEach(function (token) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "photo_token";
      input.value = token;
      form.appendChild(input);
    });
    form.dispatchEvent(new CustomEvent("portal:draft-restored", { bubbles: true, detail: { fields: pairs } }));
  }

  function notice(text, action, onAction) {
    box.textContent = "";
    var words = document.createElement("span");
    words.textContent = text;
    box.appendChild(words);
    if (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "act-secondary";
      button.textContent = action;
      button.addEventListener("click", onAction);
      box.appendChild(document.createTextNode(" "));
      box.appendChild(button);
    }
    box.hidden = false;
  }

  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  // --- on load -------------------------------------------------------------------------------------------
  var bound = box.hasAttribute("data-bound");
  var ready = outbox ? outbox.ready : Promise.resolve();
  ready.then(function () {
    if (bound) {
      // the server showed the form again with its errors: this key saved nothing, and the copy is moot
      if (outbox) { outbox.unspend(keyInput.value); outbox.remove(keyInput.value).then(outbox.refresh); }
      saveDraft();
      return;
    }
    var draft = readDraft();
    if (draft && draft.fields) {
      var before = fields();
      restore(draft.fields);
      if (!same(before, fields())) {
        notice(box.getAttribute("data-restored"), box.getAttribute("data-clear"), function () {
          clearDraft();
          location.reload();
        });
      }
    }
    if (outbox && outbox.isSpent(keyInput.value)) {
      keyInput.value = newKey();
      if (draft) saveDraft();
    }
  });

  var timer = null;
  function later() {
    clearTimeout(timer);
    timer = setTimeout(saveDraft, 300);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);

  // --- submitting ----------------------------------------------------------------------------------------
  var sending = false;

  function entryOf(submitter) {
    var pairs = fields();
    if (submitter && submitter.name) pairs.push([submitter.name, submitter.value]);
    var files = [];
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) {
        files.push({ field: input.name, name: file.name, blob: file });
      });
    });
    if (window.PortalPhotos && window.PortalPhotos.pending) {
      (window.PortalPhotos.pending() || []).forEach(function (item) {
        files.push({ field: "new_photos", name: item.name, blob: item.blob });
      });
    }
    var title = form.querySelector("[name=title]");
    return { key: keyInput.value, url: location.pathname + location.search, title: title ? title.value : "", fields: pairs, files: files };
  }

  function photos() { return window.PortalPhotos || null; }

  function queuedOffline() {
    clearDraft();
    form.reset();
    if (photos() && photos().clear) photos().clear();  // they wait in the outbox with the form
    keyInput.value = newKey();
    notice(box.getAttribute("data-queued"));
    box.scrollIntoView({ block: "center" });
    sending = false;
  }

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {  // back to this page from the browser's memory: it may be sent again
      form.removeAttribute("data-outboxed");
      sending = false;
    }
  });

  form.addEventListener("submit", function (event) {
    if (form.getAttribute("data-outboxed")) return;  // our own second pass: the browser posts it
    event.preventDefault();
    // photos still shrinking or going up: photo-upload.js submits the form again once they are done
    if (photos() && photos().busy && photos().busy()) return;
    if (sending) return;  // a double tap
    sending = true;
    var submitter = event.submitter;
    if (!outbox) {
      form.setAttribute("data-outboxed", "1");
      form.requestSubmit(submitter);
      return;
    }
    var kept = photos() && photos().pending ? photos().pending().length : 0;
    var offline = navigator.onLine === false || kept > 0;
    outbox.add(entryOf(submitter)).then(function () {
      clearDraft();
      if (offline) {
        queuedOffline();
        if (navigator.onLine !== false) outbox.flush();  // the phone says online: perhaps it is again
        return;
      }
      form.setAttribute("data-outboxed", "1");
      form.requestSubmit(submitter);
    }, function () {
      // no IndexedDB here (a private window, say): post it as the form always did
      form.setAttribute("data-outboxed", "1");
      form.requestSubmit(submitter);
    });
  });

  // --- an activity the server refused from the outbox: open it here to correct it ------------------------
  document.addEventListener("portal:outbox", function (event) {
    var formPath = location.pathname + location.search;
    var rejected = event.detail.entries.filter(function (entry) { return entry.state === "rejected" && entry.url === formPath; });
    if (!rejected.length || bound || !box.hidden) return;
    var entry = rejected[0];
    notice(box.getAttribute("data-rejected") + (entry.title ? " (" + entry.title + ")" : ""), box.getAttribute("data-open"), function () {
      // the photos the outbox already uploaded come back as tokens, the others as files
      var tokens = (entry.tokens || []).map(function (token) { return ["photo_token", token]; });
      restore(entry.fields.filter(function (pair) { return pair[0] !== "action"; }).concat(tokens));
      keyInput.value = entry.key;
      var input = form.querySelector("input[type=file]");
      if (input && entry.files.length && window.DataTransfer) {
        var transfer = new DataTransfer();
        entry.files.forEach(function (file) { transfer.items.add(new File([file.blob], file.name, { type: file.blob.type })); });
        input.files = transfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));  // photo-upload.js takes them up as if picked
      }
      outbox.unspend(entry.key);
      saveDraft();
      outbox.remove(entry.key).then(outbox.refresh);
      box.hidden = true;
    });
  });
})();
