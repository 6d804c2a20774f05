// The pay flow's confirm page (billing:pay_confirm); no inline script (strict CSP).
//
// #pay-flow[data-mode] says what the page waits for:
//   "setup"      a new card: Stripe.js Card Element + confirmCardSetup (the card goes to
//                Stripe only), then POST the SetupIntent id to our status URL, which charges it;
//   "action"     3-D Secure: confirmCardPayment(client_secret) shows the bank's dialog;
//   "processing" poll the status URL until the payment is final.
// Every server answer is JSON {status, final, message, client_secret?, redirect}: a final
// status reloads the confirm page (the server's answer is the truth); requires_action runs
// 3-D Secure. Without JavaScript the page's "Check status" button does the same by POST.
(function () {
  "use strict";
  var root = document.getElementById("pay-flow");
  if (!root) { return; }
  var mode = root.getAttribute("data-mode");
  var statusUrl = root.getAttribute("data-status-url");
  var confirmUrl = root.getAttribute("data-confirm-url");
  var progress = document.getElementById("pay-progress");
  var errors = document.getElementById("pay-errors");
  var tokenInput = root.querySelector("input[name=csrfmiddlewaretoken]");
  var csrf = tokenInput ? tokenInput.value : "";
  var stripe = null;
  var polls = 0;
  var MAX_POLLS = 30;

  function msg(name) { return root.getAttribute("data-msg-" + name) || ""; }

  function say(text, isError) {
    var target = isError && errors ? errors : progress;
    if (progress && target !== progress) { progress.textContent = ""; }
    if (target) { target.textContent = text || ""; }
  }

  function stripeClient() {
    if (!stripe && typeof window.Stripe === "function") {
      stripe = window.Stripe(root.getAttribute("data-publishable-key"));
    }
    return stripe;
  }

  function post(fields) {
    var body = new URLSearchParams(fields);
    if (root.getAttribute("data-make-default") === "1") { body.append("make_default", "1"); }
    return fetch(statusUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf }
    }).then(function (response) { return response.json(); });
  }

  function poll() {
    var request = csrf
      ? post({ action: "sync" })
      : fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (response) { return response.json(); });
    return request.then(handle, network);
  }

  function network() { say(msg("network"), true); }

  function handle(result) {
    if (!result) { network(); return; }
    if (result.final) {
      window.location.assign(confirmUrl);
      return;
    }
    if (result.status === "requires_action" && result.client_secret) {
      authenticate(result.client_secret);
      return;
    }
    if (result.message) { say(result.message, true); }
    if (result.status === "processing" || result.status === "requires_action") {
      if (polls < MAX_POLLS) {
        polls += 1;
        say(msg("working"));
        window.setTimeout(poll, 2000);
      }
      return;
    }
    // Still "created": the card step failed before any charge; let the person try again.
    var again = document.getElementById("pay-card-again");
    if (again) { again.hidden = false; }
    var submit = document.getElementById("pay-card-submit");
    if (submit) { submit.hidden = true; }
  }

  function authenticate(secret) {
    var client = stripeClient();
    if (!client) { say(msg("network"), true); return; }
    say(msg("working"));
    Promise.resolve(client.confirmCardPayment(secret)).then(function (result) {
      var error = result && result.error ? result.error : null;
      // Whatever the browser says, the server asks Stripe and decides.
      return post(error ? { action: "error", code: error.decline_code || error.code || "" }
                        : { action: "sync" });
    }).then(handle, network);
  }

  if (mode === "setup") {
    var form = document.getElementById("pay-card-form");
    var client = stripeClient();
    if (!form || !client) { return; }
    var secret = root.getAttribute("data-client-secret");
    var card = client.elements().create("card", { hidePostalCode: true });
    card.mount("#card-element");
    var busy = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) { return; }  // Double clicks confirm once (the server converges anyway).
      busy = true;
      form.setAttribute("aria-busy", "true");
      say(msg("working"));
      Promise.resolve(client.confirmCardSetup(secret, { payment_method: { card: card } }))
        .then(function (result) {
          var error = result && result.error ? result.error : null;
          if (error && error.type === "validation_error") {
            busy = false;
            form.removeAttribute("aria-busy");
            say(error.message || msg("incomplete"), true);
            return null;
          }
          if (error || !result.setupIntent) {
            form.removeAttribute("aria-busy");
            return post({ action: "error", code: (error && (error.decline_code || error.code)) || "" });
          }
          return post({ action: "card", setup_intent: result.setupIntent.id });
        })
        .then(function (result) { if (result) { handle(result); } }, network);
    });
  } else if (mode === "action") {
    var button = document.getElementById("pay-authenticate");
    var start = function () {
      if (button) { button.disabled = true; }
      authenticate(root.getAttribute("data-client-secret"));
    };
    if (button) { button.addEventListener("click", start); }
    start();
  } else if (mode === "processing") {
    say(msg("working"));
    window.setTimeout(poll, 1500);
  }
})();
