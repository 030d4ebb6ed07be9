// Photos that survive: each photo picked in the activity form is shrunk in the browser (long side at most 2,560 px,
// JPEG) and uploaded at once, with a progress bar; the form then carries a hidden photo_token for it, so a
// validation error or a reload loses nothing (the tokens are also kept in sessionStorage for this page). The server
// still checks and re-encodes every photo. Without this script the file input sends the photos with the form.
//
// window.PortalPhotos = { shrink(file) -> Promise<Blob>, upload(blobOrFile, name[, options]) -> Promise<{token, …}> }
// is what the offline queue reuses; options: { onProgress(fraction), url, csrfToken }.
//
// Without a connection (picked offline, or the upload failed for want of one) a photo is kept here, shrunk, and
// never blocks the submit: it goes up by itself when the connection returns (or on the next submit), and a form
// sent offline takes it to the outbox (activity-draft.js reads PortalPhotos.pending() -> [{blob, name}], and
// PortalPhotos.clear() empties the photos once the form waits there).
(function () {
  "use strict";

  var LONG_SIDE = 2560;
  var QUALITY = 0.85;
  var DEFAULT_URL = "/activities/photos/upload/";
  var DECODABLE = /^image\/(jpeg|png|webp)$/;

  function uploadUrl() {
    var box = document.querySelector("[data-photo-held]");
    return (box && box.getAttribute("data-upload-url")) || DEFAULT_URL;
  }

  function csrfToken() {
    // the CSRF cookie is HttpOnly: the token comes from the page's own form
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function decode(file) {
    if (!window.createImageBitmap) return Promise.reject(new Error("no createImageBitmap"));
    // "from-image": turned upright by its EXIF orientation, as the camera meant it
    return createImageBitmap(file, { imageOrientation: "from-image" }).catch(function () {
      return createImageBitmap(file);
    });
  }

  function shrink(file) {
    if (!file || !DECODABLE.test(file.type || "")) return Promise.resolve(file);
    return decode(file)
      .then(function (bitmap) {
        var width = bitmap.width;
        var height = bitmap.height;
        var longSide = Math.max(width, height);
        if (longSide <= LONG_SIDE) {
          if (bitmap.close) bitmap.close();
          return file; // small enough: sent as it is, the server re-encodes it anyway
        }
        var scale = LONG_SIDE / longSide;
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(width * scale));
        canvas.height = Math.max(1, Math.round(height * scale));
        var context = canvas.getContext("2d");
        context.fillStyle = "#fff"; // transparency laid on white, as the server does
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.imageSmoothingEnabled = true;
        context.imageSmoothingQuality = "high";
        context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        if (bitmap.close) bitmap.close();
        return new Promise(function (resolve) {
          canvas.toBlob(
            function (blob) {
              resolve(blob && blob.size < file.size ? blob : file);
            },
            "image/jpeg",
            QUALITY
          );
        });
      })
      .catch(function () {
        return file; // not decodable here (HEIC, a damaged file): the server says what is wrong with it
      });
  }

  function upload(blob, name, options) {
    options = options || {};
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", options.url || uploadUrl());
      xhr.setRequestHeader("X-CSRFToken", options.csrfToken || csrfToken());
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      if (options.onProgress && xhr.upload) {
        xhr.upload.addEventListener("progress", function (event) {
          if (event.lengthComputable && event.total) options.onProgress(event.loaded / event.total);
        });
      }
      xhr.onload = function () {
        var data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch (e) {
          data = null;
        }
        if (xhr.status === 201 && data && data.token) {
          resolve(data);
          return;
        }
        var error = new Error((data && data.error) || "");
        error.status = xhr.status;
        reject(error);
      };
      xhr.onerror = function () {
        var error = new Error("");
        error.status = 0;
        reject(error);
      };
      var body = new FormData();
      body.append("file", blob, name || blob.name || "photo.jpg");
      xhr.send(body);
    });
  }

  // the form's hooks (pending, clear, busy) are filled in below when this page has the photo box
  window.PortalPhotos = {
    shrink: shrink, upload: upload,
    pending: function () { return []; }, clear: function () {}, busy: function () { return false; }
  };

  // --- the activity form --------------------------------------------------------------------------------

  var box = document.querySelector("[data-photo-held]");
  if (!box) return;
  var form = box.closest("form");
  var list = box.querySelector("[data-held-list]");
  var heldTemplate = box.querySelector("template[data-held-template]");
  var pendingTemplate = box.querySelector("template[data-pending-template]");
  var wait = box.querySelector("[data-photo-wait]");
  var input = form && form.querySelector("input[type=file][name=new_photos]");
  var minorsForAll = form && form.querySelector("input[name=new_photos_show_minors]");
  if (!form || !list || !heldTemplate || !pendingTemplate || !input) return;
  var key = "portal-photos:" + location.pathname;
  var pending = 0;
  var waiting = null; // the submit that waits for the uploads: { submitter }
  var kept = []; // photos kept on this phone for want of a connection: { li, blob, name, picked }
  var retried = false; // a submit retried the kept photos once: the next one goes on (to the outbox if they stay)

  function message(name) {
    return box.getAttribute("data-msg-" + name) || "";
  }

  function read() {
    try {
      return JSON.parse(sessionStorage.getItem(key) || "null");
    } catch (e) {
      return null;
    }
  }

  function write(submitted) {
    var items = Array.prototype.map.call(list.querySelectorAll("[data-held-photo]"), function (li) {
      return {
        token: li.querySelector("[data-token]").value,
        thumb: li.querySelector("[data-thumb]").getAttribute("src"),
        name: li.querySelector("[data-name]").textContent,
        caption: li.querySelector("[data-caption]").value,
        minors: li.querySelector("[data-minors]").checked,
      };
    });
    try {
      if (items.length) sessionStorage.setItem(key, JSON.stringify({ items: items, submitted: !!submitted }));
      else sessionStorage.removeItem(key);
    } catch (e) {
      // storage full or refused: the form itself still carries the tokens
    }
  }

  function enhance(li) {
    var check = li.querySelector("[data-remove-box]");
    var button = li.querySelector("[data-remove]");
    if (check) check.hidden = true;
    if (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        li.remove();
        write();
      });
    }
    var thumb = li.querySelector("[data-thumb]");
    if (thumb) {
      thumb.addEventListener("error", function () {
        // expired or attached meanwhile: its token would only bring an error
        if (li.hasAttribute("data-held-photo")) {
          li.remove();
          write();
        }
      });
    }
    return li;
  }

  function held(item) {
    var li = heldTemplate.content.firstElementChild.cloneNode(true);
    li.querySelector("[data-token]").value = item.token;
    li.querySelector("[data-thumb]").setAttribute("src", item.thumb);
    li.querySelector("[data-name]").textContent = item.name || "";
    var caption = li.querySelector("[data-caption]");
    caption.name = "photo_caption_" + item.token;
    caption.value = item.caption || "";
    var minors = li.querySelector("[data-minors]");
    minors.value = item.token;
    minors.checked = !!item.minors;
    li.querySelector("[data-remove-check]").value = item.token;
    return enhance(li);
  }

  function jpegName(name) {
    return (name || "photo").replace(/\.[^./\\]*$/, "") + ".jpg";
  }

  function finished() {
    pending -= 1;
    if (pending > 0 || !waiting) return;
    var submitter = waiting.submitter;
    waiting = null;
    wait.hidden = true;
    if (form.requestSubmit) form.requestSubmit(submitter || undefined);
    else form.submit();
  }

  // One photo at a time: a weak connection gives each its whole width, and a phone decodes one camera photo at once.
  var queue = Promise.resolve();

  // a small picture of the kept copy, so the person sees which photos wait (the server's thumbnail needs the
  // connection); a data: URL, as the content security policy allows no blob: images
  function preview(photo, spinner) {
    if (!window.createImageBitmap) return;
    photo.preview = true;
    createImageBitmap(photo.blob, { resizeWidth: 192, resizeQuality: "medium" }).then(function (bitmap) {
      var canvas = document.createElement("canvas");
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      canvas.getContext("2d").drawImage(bitmap, 0, 0);
      if (bitmap.close) bitmap.close();
      spinner.style.backgroundImage = "url(" + canvas.toDataURL("image/jpeg", 0.7) + ")";
      spinner.classList.add("is-kept");
    }).catch(function () { /* not decodable here: the grey box stays */ });
  }

  function keep(photo) {
    var status = photo.li.querySelector("[data-status]");
    var progress = photo.li.querySelector("[data-progress]");
    progress.hidden = true;
    status.textContent = message("kept");
    status.classList.remove("is-error");
    status.removeAttribute("role");
    photo.li.setAttribute("data-kept", "");
    var spinner = photo.li.querySelector(".act-held-spinner");
    if (spinner && !photo.preview) preview(photo, spinner);
    photo.li.setAttribute("data-bytes-picked", String(photo.picked));
    photo.li.setAttribute("data-bytes-sent", String(photo.blob.size));
    var button = photo.li.querySelector("[data-remove]");
    button.hidden = false;
    button.onclick = function () {
      kept = kept.filter(function (other) { return other !== photo; });
      photo.li.remove();
    };
    kept.push(photo);
  }

  // up it goes, its turn in the queue; photo: { li, file } when just picked, { li, blob, name, picked } when kept
  function go(photo) {
    var li = photo.li;
    var status = li.querySelector("[data-status]");
    var progress = li.querySelector("[data-progress]");
    li.removeAttribute("data-kept");
    status.textContent = message("uploading");
    progress.hidden = false;
    progress.removeAttribute("value"); // waiting its turn
    pending += 1;
    queue = queue
      .then(function () {
        if (photo.blob) return photo.blob;
        status.textContent = message("shrinking");
        return shrink(photo.file).then(function (blob) {
          photo.blob = blob;
          photo.picked = photo.file.size;
          photo.name = blob === photo.file ? photo.file.name : jpegName(photo.file.name);
          photo.shown = photo.file.name;
          photo.file = null; // the shrunk copy is what is kept and sent
          return blob;
        });
      })
      .then(function (blob) {
        if (navigator.onLine === false) {
          var offline = new Error("");
          offline.status = 0;
          throw offline;
        }
        status.textContent = message("uploading");
        return upload(blob, photo.name, {
          onProgress: function (fraction) {
            progress.value = Math.round(fraction * 100);
          },
        });
      })
      .then(function (data) {
        var item = held({ token: data.token, thumb: data.thumb, name: photo.shown, minors: minorsForAll && minorsForAll.checked });
        // what the phone saved by shrinking: picked, sent, and stored after the server's re-encoding
        item.setAttribute("data-bytes-picked", String(photo.picked));
        item.setAttribute("data-bytes-sent", String(photo.blob.size));
        item.setAttribute("data-bytes-stored", String(data.bytes));
        if (li.parentNode === list) list.replaceChild(item, li);
        write();
      })
      .catch(function (error) {
        if (!li.parentNode) return; // removed (or the form went to the outbox) meanwhile
        if (error && error.status === 0 && photo.blob) {
          keep(photo); // no connection: kept here, and never in the submit's way
          return;
        }
        progress.hidden = true;
        status.textContent = (error && error.message) || message("failed");
        status.classList.add("is-error");
        status.setAttribute("role", "alert");
        var button = li.querySelector("[data-remove]");
        button.hidden = false;
        button.onclick = function () {
          li.remove();
        };
      })
      .then(finished);
  }

  function send(file) {
    var li = pendingTemplate.content.firstElementChild.cloneNode(true);
    li.querySelector("[data-name]").textContent = file.name;
    list.appendChild(li);
    go({ li: li, file: file, shown: file.name });
  }

  // the kept photos try again (the connection is back, or the form is being sent)
  function retry() {
    var again = kept;
    kept = [];
    again.forEach(go);
    return again.length;
  }

  window.PortalPhotos.pending = function () {
    return kept.map(function (photo) { return { blob: photo.blob, name: photo.name }; });
  };
  window.PortalPhotos.busy = function () { return pending > 0; };
  // the form went to the outbox with its photos: this page starts the next activity without them
  window.PortalPhotos.clear = function () {
    kept = [];
    retried = false;
    Array.prototype.forEach.call(list.querySelectorAll("[data-held-photo], [data-pending]"), function (li) { li.remove(); });
    write();
  };
  window.addEventListener("online", retry);

  input.addEventListener("change", function () {
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) return;
    input.value = ""; // they go up now, not again with the form
    files.forEach(send);
  });

  list.addEventListener("input", function () {
    write();
  });
  list.addEventListener("change", function () {
    write();
  });

  form.addEventListener("submit", function (event) {
    if (pending === 0 && kept.length && navigator.onLine !== false && !retried) {
      retried = true; // once: if they stay kept, the form and they wait in the outbox together
      retry();
    }
    if (pending > 0) {
      event.preventDefault();
      waiting = { submitter: event.submitter || null };
      wait.textContent = message("wait");
      wait.hidden = false;
      return;
    }
    retried = false;
    write(true);
  });

  // The photos come back: shown by the server (the form was sent and had errors), else kept by this page
  // (a reload). Once the form was sent they are the server's business: attached, or shown again by it.
  var state = read();
  var shown = list.querySelectorAll("[data-held-photo]");
  if (shown.length) {
    Array.prototype.forEach.call(shown, enhance);
    write();
  } else if (state && !state.submitted && state.items) {
    state.items.forEach(function (item) {
      if (item && item.token && item.thumb) list.appendChild(held(item));
    });
    write();
  } else {
    write();
  }
})();
