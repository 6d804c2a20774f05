// Stripe.js Card Element for our card forms (no inline script: the page's CSP forbids it).
//
// A form marked data-stripe-card="setup" or "payment" gets a Card Element mounted into its
// [id=card-element] container (if it has one). On submit the card is confirmed with Stripe
// (confirmCardSetup / confirmCardPayment, including 3-D Secure); card data goes to Stripe
// only. Then the form is POSTed to our server with the intent id it already carries and, if
// Stripe refused, the error code in `error_code` / `decline_code` (translated server-side).
(function () {
  "use strict";
  if (typeof window.Stripe !== "function") { return; }

  document.querySelectorAll("form[data-stripe-card]").forEach(function (form) {
    var mode = form.getAttribute("data-stripe-card");
    var secret = form.getAttribute("data-client-secret");
    var stripe = window.Stripe(form.getAttribute("data-publishable-key"));
    var container = form.querySelector("#card-element");
    var errors = form.querySelector(".card-errors");
    var card = null;
    var busy = false;

    if (container) {
      card = stripe.elements().create("card", { hidePostalCode: true });
      card.mount(container);
      if (card.on) {
        card.on("change", function (event) {
          if (errors) { errors.textContent = event && event.error ? event.error.message : ""; }
        });
      }
    }

    function field(name) { return form.querySelector('input[type=hidden][name="' + name + '"]'); }

    function submitWith(error) {
      if (error) {
        var code = error.decline_code || error.code || "card_not_confirmed";
        if (field("error_code")) { field("error_code").value = code; }
        if (field("decline_code")) { field("decline_code").value = error.decline_code || ""; }
      }
      HTMLFormElement.prototype.submit.call(form);
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      // A choice of saved card (payment mode) or "no card form on this page": plain submit.
      if (!secret || form.getAttribute("data-stripe-skip") === "true") {
        HTMLFormElement.prototype.submit.call(form);
        return;
      }
      if (busy) { return; }  // Double clicks confirm once.
      busy = true;
      form.setAttribute("aria-busy", "true");
      if (errors) { errors.textContent = form.getAttribute("data-msg-working") || ""; }
      var data = card ? { payment_method: { card: card } } : undefined;
      var confirm = mode === "setup"
        ? stripe.confirmCardSetup(secret, data)
        : stripe.confirmCardPayment(secret, data);
      Promise.resolve(confirm).then(function (result) {
        var error = result && result.error ? result.error : null;
        if (error && error.type === "validation_error") {  // Incomplete card: fix and retry.
          busy = false;
          form.removeAttribute("aria-busy");
          if (errors) { errors.textContent = error.message || form.getAttribute("data-msg-incomplete"); }
          return;
        }
        submitWith(error);
      }, function () {
        submitWith({ code: "card_not_confirmed" });
      });
    });
  });
})();
