// Photos that survive: each photo picked in the activity form is shrunk in the browser (long side at most 2,560 px,
// JPEG) and uploaded at once, with a progress bar; the form then carries a hidden photo_token for it, so a
// validation error or a reload loses nothing (the tokens are also kept in sessionStorage for this page). The server
// still checks and re-encodes every photo. Without this script the file input sends the photos with the form.
//
// window.PortalPhotos = { shrink(file) -> Promise<Blob>, upload(blobOrFile, name[, options]) -> Promise<{token, …}> }
// is what the offline queue reuses; options: { onProgress(fraction), url, csrfToken }.
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

  window.PortalPhotos = { shrink: shrink, upload: upload };

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

  function send(file) {
    var li = pendingTemplate.content.firstElementChild.cloneNode(true);
    var status = li.querySelector("[data-status]");
    var progress = li.querySelector("[data-progress]");
    li.querySelector("[data-name]").textContent = file.name;
    status.textContent = message("uploading");
    progress.removeAttribute("value"); // waiting its turn
    list.appendChild(li);
    pending += 1;
    var sent = file;
    queue = queue
      .then(function () {
        status.textContent = message("shrinking");
        return shrink(file);
      })
      .then(function (blob) {
        sent = blob;
        status.textContent = message("uploading");
        var name = blob === file ? file.name : jpegName(file.name);
        return upload(blob, name, {
          onProgress: function (fraction) {
            progress.value = Math.round(fraction * 100);
          },
        });
      })
      .then(function (data) {
        var item = held({ token: data.token, thumb: data.thumb, name: file.name, minors: minorsForAll && minorsForAll.checked });
        // what the phone saved by shrinking: picked, sent, and stored after the server's re-encoding
        item.setAttribute("data-bytes-picked", String(file.size));
        item.setAttribute("data-bytes-sent", String(sent.size));
        item.setAttribute("data-bytes-stored", String(data.bytes));
        list.replaceChild(item, li);
        write();
      })
      .catch(function (error) {
        progress.hidden = true;
        status.textContent = (error && error.message) || message("failed");
        status.classList.add("is-error");
        status.setAttribute("role", "alert");
        var button = li.querySelector("[data-remove]");
        button.hidden = false;
        button.addEventListener("click", function () {
          li.remove();
        });
      })
      .then(finished);
  }

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
    if (pending > 0) {
      event.preventDefault();
      waiting = { submitter: event.submitter || null };
      wait.textContent = message("wait");
      wait.hidden = false;
      return;
    }
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
