// Passkeys (WebAuthn) on our pages, with no framework. A form marked data-passkey="create"
// (add a passkey) or data-passkey="get" (sign in with one) asks its data-options URL for a
// challenge (JSON, with the form's CSRF token in X-CSRF-Token), hands it to the browser's
// authenticator, puts the answer in the form's hidden `ceremony` and `credential` fields and
// submits the form. The server checks the answer and answers as any form post (a redirect or a
// page), so a sign-in continues exactly as with a password.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return; // No WebAuthn: the forms stay hidden.
  }

  function toBuffer(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      bytes[i] = bin.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      return { type: c.type, id: toBuffer(c.id), transports: c.transports };
    });
  }

  // The server's options (webauthn-rs, base64url) as the browser wants them (ArrayBuffers).
  function creationOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = toBuffer(pk.challenge);
    o.user = Object.assign({}, pk.user, { id: toBuffer(pk.user.id) });
    o.excludeCredentials = descriptors(pk.excludeCredentials);
    return o;
  }

  function requestOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = toBuffer(pk.challenge);
    o.allowCredentials = descriptors(pk.allowCredentials);
    return o;
  }

  // The authenticator's answer as JSON (what webauthn-rs reads).
  function answer(cred) {
    var r = cred.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) {
        response.transports = r.getTransports();
      }
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
    }
    var ext = cred.getClientExtensionResults ? cred.getClientExtensionResults() : {};
    return JSON.stringify({
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: response,
      extensions: ext.credProps ? { credProps: ext.credProps } : {},
    });
  }

  function field(form, name) {
    return form.querySelector("input[name=" + name + "]");
  }

  function showError(form, text) {
    var box = form.querySelector("[data-passkey-error]");
    if (box) {
      box.textContent = text;
      box.hidden = false;
    }
  }

  function run(form, button) {
    var kind = form.getAttribute("data-passkey");
    var body = {};
    var name = field(form, "name");
    var challenge = field(form, "challenge");
    if (challenge) {
      body.challenge = challenge.value; // the second step of a sign-in (/login/mfa)
    }
    if (kind === "create") {
      if (!form.reportValidity()) {
        return;
      }
      body.name = name.value;
    }
    var box = form.querySelector("[data-passkey-error]");
    if (box) {
      box.hidden = true;
    }
    button.disabled = true;
    fetch(form.getAttribute("data-options"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRF-Token": field(form, "csrf_token").value,
      },
      body: JSON.stringify(body),
    })
      .then(function (resp) {
        return resp.json().then(function (json) {
          if (!resp.ok) {
            throw new Error(json.error_description || "The server refused the request.");
          }
          return json;
        });
      })
      .then(function (started) {
        field(form, "ceremony").value = started.ceremony;
        var pk = started.options.publicKey;
        return kind === "create"
          ? navigator.credentials.create({ publicKey: creationOptions(pk) })
          : navigator.credentials.get({ publicKey: requestOptions(pk) });
      })
      .then(function (cred) {
        field(form, "credential").value = answer(cred);
        form.submit();
      })
      .catch(function (err) {
        button.disabled = false;
        var cancelled = err && (err.name === "NotAllowedError" || err.name === "AbortError");
        showError(
          form,
          cancelled
            ? "No passkey was used (the request was cancelled or timed out)."
            : err && err.name === "InvalidStateError"
              ? "This passkey is already registered."
              : (err && err.message) || "The passkey did not work.",
        );
      });
  }

  var forms = document.querySelectorAll("form[data-passkey]");
  for (var i = 0; i < forms.length; i++) {
    (function (form) {
      var button =
        form.querySelector("[data-passkey-start]") || form.querySelector("button[type=submit]");
      form.hidden = false;
      if (form.getAttribute("data-passkey") === "create") {
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          run(form, button);
        });
      } else {
        button.addEventListener("click", function () {
          run(form, button);
        });
      }
    })(forms[i]);
  }
  var reveal = ["alt-divider"];
  var unsupported = document.getElementById("passkey-unsupported");
  if (unsupported) {
    unsupported.hidden = true;
  }
  reveal.forEach(function (id) {
    var el = document.getElementById(id);
    if (el) {
      el.hidden = false;
    }
  });
})();
