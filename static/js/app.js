// The pages' few behaviours, kept out of the markup so that the Content-Security-Policy can
// forbid every inline script and event handler.
"use strict";

// A field marked data-autosubmit sends its form as soon as it changes.
document.addEventListener("change", (event) => {
  const target = event.target;
  if (!(target instanceof HTMLInputElement || target instanceof HTMLSelectElement)) {
    return;
  }
  if (target.form && target.matches("[data-autosubmit]")) {
    target.form.submit();
  }
  // A form marked data-submit-on-radio is sent when one of its radio buttons is chosen.
  if (target.type === "radio" && target.form && target.form.matches("[data-submit-on-radio]")) {
    target.form.requestSubmit();
  }
});

// A link marked data-back goes back a page; without script it follows its href.
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-back]") : null;
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});

// Inside an element marked data-swap-invalid, a 400 answer (the form again, with its errors)
// replaces the target like a success.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 400 && event.target.closest("[data-swap-invalid]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
