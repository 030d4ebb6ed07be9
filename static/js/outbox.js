// The outbox: forms filled without a connection wait on this device (IndexedDB "portal-outbox", store "forms",
// one entry per form, keyed by its submit_key) and are sent when the connection returns: on the "online"
// event and on every page load of a signed-in page. The server saves a submit_key once (a retry answers
// "already saved"), so sending an entry twice is harmless. Also registers the service worker (/sw.js) and
// shows "N 条待上传" wherever a .outbox-count[data-text] is (the nav, the activity form).
//
// An entry: {key, user, url, title, fields: [[name, value]], files: [{field, name, blob}], tokens: [token],
// state: "queued" | "rejected", saved: ISO time}. Photos go first through window.PortalPhotos.upload(blob,
// name) when that exists (each answer's token replaces the file, kept in the entry as it comes, and is sent as
// a photo_token field); otherwise, or when the server refuses one of them, they are posted with the form under
// their field name, as the form does. The form's photos kept for want of a connection come from
// PortalPhotos.pending() (photo-upload.js) into `files`; those already uploaded stay photo_token fields.
// Sent means answered 2xx after a redirect away from the form (to the activity, or to the "already saved"
// one); answered with the form again (its errors) or 4xx: "rejected", kept for the user to open in the
// form; a network failure, a 5xx or the sign-in page: kept queued for the next try. The next try comes by itself
// after the server's trouble (a 5xx: after its Retry-After) or a connection that fails while the device says it is
// online (after 30 s, doubling up to 5 min), not only on the next "online" event or page load.
(function () {
  "use strict";
  var nav = document.querySelector("[data-outbox-user]");
  if (!nav || !window.indexedDB) return;
  var user = nav.getAttribute("data-outbox-user");
  var loginPath = nav.getAttribute("data-login") || "";
  var SAVED_COOKIE = "portal_saved_key";
  var SPENT = "portal-spent-keys:" + user;
  var DRAFT_PREFIX = "portal-draft:" + user + ":";
  var database = null;

  function db() {
    if (!database) {
      database = new Promise(function (resolve, reject) {
        var request = indexedDB.open("portal-outbox", 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore("forms", { keyPath: "key" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return database;
  }

  function store(mode, work) {
    return db().then(function (connection) {
      return new Promise(function (resolve, reject) {
        var transaction = connection.transaction("forms", mode);
        var result = work(transaction.objectStore("forms"));
        transaction.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        transaction.onerror = function () { reject(transaction.error); };
        transaction.onabort = function () { reject(transaction.error); };
      });
    });
  }

  function entries() {
    return store("readonly", function (forms) { return forms.getAll(); }).then(function (all) {
      return (all || []).filter(function (entry) { return entry.user === user; });
    });
  }

  function put(entry) { return store("readwrite", function (forms) { forms.put(entry); }); }
  function remove(key) { return store("readwrite", function (forms) { forms.delete(key); }); }
  function get(key) { return store("readonly", function (forms) { return forms.get(key); }); }

  // keys of forms already sent or queued: a page opened from the cache carries one of them, and gets a new one
  function spentKeys() {
    try { return JSON.parse(localStorage.getItem(SPENT) || "[]"); } catch (e) { return []; }
  }
  function spend(key) {
    var keys = spentKeys().filter(function (k) { return k !== key; });
    keys.push(key);
    try { localStorage.setItem(SPENT, JSON.stringify(keys.slice(-100))); } catch (e) { /* full: the server still guards */ }
  }
  function unspend(key) {
    try { localStorage.setItem(SPENT, JSON.stringify(spentKeys().filter(function (k) { return k !== key; }))); } catch (e) { /* */ }
  }

  function forgetDrafts(key) {
    for (var i = localStorage.length - 1; i >= 0; i--) {
      var name = localStorage.key(i);
      if (name && name.indexOf(DRAFT_PREFIX) === 0) {
        try {
          if (JSON.parse(localStorage.getItem(name)).key === key) localStorage.removeItem(name);
        } catch (e) { localStorage.removeItem(name); }
      }
    }
  }

  // the server's word that a form was saved (views.mark_saved): its draft and its queued copy are done with
  function savedKey() {
    var match = document.cookie.match(new RegExp("(?:^|; )" + SAVED_COOKIE + "=([^;]*)"));
    if (!match) return null;
    document.cookie = SAVED_COOKIE + "=; Max-Age=0; Path=/; SameSite=Lax";
    return decodeURIComponent(match[1]);
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function show(count) {
    document.querySelectorAll(".outbox-count[data-text]").forEach(function (element) {
      element.textContent = element.getAttribute("data-text").replace("__N__", String(count));
      var box = element.closest("[data-outbox-page]") || element;
      box.hidden = count === 0;
    });
  }

  var waiting = 0;  // queued entries at the last refresh: what the sign-out warning counts

  function refresh() {
    return entries().then(function (all) {
      var queued = all.filter(function (entry) { return entry.state !== "rejected"; });
      waiting = queued.length;
      show(queued.length);
      document.dispatchEvent(new CustomEvent("portal:outbox", { detail: { entries: all } }));
      return all;
    }).catch(function () { return []; });
  }

  function uploadPhotos(entry) {
    if (!window.PortalPhotos || !window.PortalPhotos.upload || !entry.files.length) return Promise.resolve(entry);
    var file = entry.files[0];
    return window.PortalPhotos.upload(file.blob, file.name).then(function (answer) {
      entry.tokens.push(answer.token);
      entry.files.shift();
      return put(entry).then(function () { return uploadPhotos(entry); });
    }, function (error) {
      // a photo the server refuses (400, 413): it and the rest go with the form, whose answer names the fault and
      // marks the entry for the user to correct; no connection or the server's trouble: the next round tries again
      var status = (error && error.status) || 0;
      if (status === 400 || status === 413) return entry;
      throw error;
    });
  }

  function formData(entry) {
    var data = new FormData();
    entry.fields.forEach(function (pair) {
      if (pair[0] !== "csrfmiddlewaretoken") data.append(pair[0], pair[1]);
    });
    data.append("csrfmiddlewaretoken", csrfToken());
    entry.tokens.forEach(function (token) { data.append("photo_token", token); });
    entry.files.forEach(function (file) { data.append(file.field, file.blob, file.name); });
    return data;
  }

  var trouble = null;  // why the last round stopped: "server" (a 5xx), "network", or null
  var retryAfter = 0;  // the server's Retry-After of its last 5xx, in seconds
  var retryTimer = null;
  var retryDelay = 0;

  function retryLater() {
    if (retryTimer || !trouble || navigator.onLine === false) return;  // offline: the "online" event will come
    retryDelay = trouble === "server" && retryAfter
      ? Math.min(Math.max(retryAfter, 5), 300)
      : Math.min(retryDelay ? retryDelay * 2 : 30, 300);
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, retryDelay * 1000);
  }

  function send(entry) {
    return uploadPhotos(entry).then(function () {
      return fetch(entry.url, {
        method: "POST", body: formData(entry), credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() }
      });
    }).then(function (response) {
      var path = new URL(response.url, location.href).pathname;
      var formPath = new URL(entry.url, location.href).pathname;
      if (response.ok && response.redirected && path !== formPath && path !== loginPath) {
        spend(entry.key);
        forgetDrafts(entry.key);
        return remove(entry.key).then(function () { return "sent"; });
      }
      if (response.status >= 500) {  // the server's trouble: try again after it says
        trouble = "server";
        retryAfter = parseInt(response.headers.get("Retry-After"), 10) || 0;
        return "queued";
      }
      if (path === loginPath) return "queued";  // signed out: it waits for the next sign-in here
      entry.state = "rejected";
      return put(entry).then(function () { return "rejected"; });
    }, function () {  // no connection (or a photo upload refused while offline)
      trouble = "network";
      return "queued";
    });
  }

  var flushing = null;
  function flush() {
    if (flushing) return flushing;
    if (navigator.onLine === false) return refresh();
    trouble = null;
    flushing = entries().then(function (all) {
      var queued = all.filter(function (entry) { return entry.state !== "rejected"; });
      return queued.reduce(function (chain, entry) {
        return chain.then(function (outcome) {
          // a failed connection stops the round: the rest waits for the next "online"
          return outcome === "queued" ? outcome : send(entry);
        });
      }, Promise.resolve("sent"));
    }).catch(function () { /* IndexedDB refused: nothing to send */ }).then(function () {
      flushing = null;
      if (trouble) retryLater(); else retryDelay = 0;
      return refresh();
    });
    return flushing;
  }

  // a form being submitted: its copy waits here until the server's answer says it was saved
  function add(entry) {
    entry.user = user;
    entry.state = "queued";
    entry.saved = new Date().toISOString();
    entry.tokens = entry.tokens || [];
    entry.files = entry.files || [];
    spend(entry.key);
    return put(entry).then(refresh);
  }

  // first the server's word on the last form posted, then what still waits
  var ready = (function () {
    var key = savedKey();
    if (!key) return Promise.resolve();
    spend(key);
    forgetDrafts(key);
    return remove(key).catch(function () {});
  })();
  ready.then(flush);

  window.PortalOutbox = {
    ready: ready, add: add, get: get, remove: remove, entries: entries, flush: flush, refresh: refresh,
    spend: spend, unspend: unspend, isSpent: function (key) { return spentKeys().indexOf(key) !== -1; },
    user: user
  };

  window.addEventListener("online", flush);
  window.addEventListener("offline", refresh);

  // Signing out (a shared PC in the village office): the person's unsent drafts are forgotten, since nobody is
  // there to finish them. Forms waiting to upload are whole submissions: they stay and go up at this account's
  // next sign-in on this device, and the person is asked first, so they can stay until they have gone.
  document.querySelectorAll("form[data-signout]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (waiting > 0 && !window.confirm(form.getAttribute("data-signout").replace("__N__", String(waiting)))) {
        event.preventDefault();
        return;
      }
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var name = localStorage.key(i);
        if (name && name.indexOf(DRAFT_PREFIX) === 0) localStorage.removeItem(name);
      }
    });
  });

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* no offline use, the rest works */ });
  }
})();
