{% autoescape off %}// The portal's service worker (portal.views.service_worker; scope /). It keeps the pages apps registered in
// portal.offline (the activity form) and the static files they load, so they open without a connection:
// network first, the cached copy when the network fails. Posts are never answered from here: a form filled
// offline waits in IndexedDB (static/js/outbox.js) and is sent when the connection returns.
"use strict";

var CACHE = "portal-{{ version }}";
var PAGES = {{ pages }};
var ASSETS = {{ assets }};
var LOGOUT = {{ logout }};

// A cached page must not repeat a notice it happened to carry when it was fetched.
function withoutMessages(response) {
  return response.text().then(function (html) {
    var headers = new Headers(response.headers);
    headers.delete("Content-Length");
    return new Response(html.replace(/<ul class="messages"[\s\S]*?<\/ul>/, ""), {
      status: response.status, statusText: response.statusText, headers: headers
    });
  });
}

function keep(cache, path, response) {
  var page = PAGES.indexOf(path) !== -1;
  return (page ? withoutMessages(response) : Promise.resolve(response)).then(function (copy) {
    return cache.put(path, copy);
  });
}

function usable(response) {
  // a redirect (to the sign-in page, say) or an error is no copy of the page
  return response && response.ok && !response.redirected && response.type === "basic";
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return Promise.all(PAGES.concat(ASSETS).map(function (path) {
        // redirect "manual": signed out by now (a session that ended, a shared PC), the page answers a redirect to
        // the sign-in page, which is not followed: rendering that page here would give the browser a new CSRF
        // cookie under the sign-in form the person has open, and their sign-in would then be refused
        return fetch(path, { credentials: "same-origin", cache: "no-store", redirect: "manual" }).then(function (response) {
          if (usable(response)) return keep(cache, path, response);
        }).catch(function () {});
      }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (key) {
        return key.indexOf("portal-") === 0 && key !== CACHE;
      }).map(function (key) { return caches.delete(key); }));
    }).then(function () { return self.clients.claim(); })
  );
});

// Signing out forgets the cached pages: they hold the user's own choices (village offices share PCs).
function forgetPages() {
  return caches.open(CACHE).then(function (cache) {
    return Promise.all(PAGES.map(function (path) { return cache.delete(path); }));
  });
}

self.addEventListener("message", function (event) {
  if (event.data === "forget-pages") event.waitUntil(forgetPages());
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === LOGOUT) {
    event.waitUntil(forgetPages());
    return;
  }
  if (request.method !== "GET") return;
  var page = PAGES.indexOf(url.pathname) !== -1 && request.mode === "navigate";
  var asset = ASSETS.indexOf(url.pathname) !== -1;
  if (!page && !asset) return;
  event.respondWith(
    fetch(request).then(function (response) {
      if (usable(response)) {
        var copy = response.clone();
        event.waitUntil(caches.open(CACHE).then(function (cache) { return keep(cache, url.pathname, copy); }));
      }
      return response;
    }).catch(function (error) {
      return caches.open(CACHE).then(function (cache) { return cache.match(url.pathname); }).then(function (cached) {
        if (cached) return cached;
        throw error;
      });
    })
  );
});
{% endautoescape %}
