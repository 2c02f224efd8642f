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

// Unsaved changes. A form marked data-unsaved-guard is "dirty" from the first change until it
// is sent (a page form) or its answer is saved (a form sent by htmx); leaving the page while
// one is dirty asks first (in the browser's own words).
const dirtyForms = new Set();

function markDirty(form) {
  dirtyForms.add(form);
  form.dataset.generation = String(Number(form.dataset.generation || 0) + 1);
}

function guarded(target) {
  return target instanceof Element ? target.closest("form[data-unsaved-guard]") : null;
}

for (const kind of ["input", "change"]) {
  document.addEventListener(kind, (event) => {
    const form = guarded(event.target);
    if (form) {
      markDirty(form);
    }
  });
}

// A page form sent the ordinary way leaves the page on purpose.
document.addEventListener("submit", (event) => {
  const form = guarded(event.target);
  if (form && !form.hasAttribute("hx-post")) {
    dirtyForms.delete(form);
  }
});

window.addEventListener("beforeunload", (event) => {
  for (const form of dirtyForms) {
    if (!form.isConnected) {
      dirtyForms.delete(form);
    }
  }
  if (dirtyForms.size > 0) {
    event.preventDefault();
    event.returnValue = "";
  }
});

// The saving state of a form sent by htmx, in its element marked data-save-state, with the
// words the page gives in the data-saving / data-not-saved attributes of that element.
function showSaveState(form, state) {
  const shown = form.querySelector("[data-save-state]");
  if (!shown) {
    return;
  }
  shown.hidden = false;
  shown.dataset.state = state;
  shown.className = `status save-state ${state === "failed" ? "status-missing" : ""}`;
  shown.textContent = state === "failed" ? shown.dataset.notSaved : shown.dataset.saving;
}

document.addEventListener("htmx:beforeRequest", (event) => {
  const form = guarded(event.detail.elt);
  if (form) {
    form.dataset.sent = form.dataset.generation || "0";
    showSaveState(form, "saving");
  }
});

// An answer changed again while its earlier answer was on its way is not overwritten by the
// reply: the later answer waits in the queue and its reply is the one shown.
document.addEventListener("htmx:beforeSwap", (event) => {
  const form = guarded(event.detail.elt);
  if (!form) {
    return;
  }
  if (form.dataset.generation !== form.dataset.sent) {
    event.detail.shouldSwap = false;
    return;
  }
  if (event.detail.xhr.status < 300) {
    dirtyForms.delete(form);
  }
});

for (const kind of ["htmx:responseError", "htmx:sendError", "htmx:timeout"]) {
  document.addEventListener(kind, (event) => {
    const form = guarded(event.detail.elt);
    if (form && form.isConnected && event.detail.xhr.status !== 400) {
      showSaveState(form, "failed");
    }
  });
}

// Drafts. A form marked data-draft-key keeps what is typed in this browser's local storage
// under that key (user, participant, form, record or visit), offers it back on return in the
// element marked data-draft-offer, and forgets it once the server says the form was saved.
const DRAFT_SENT = "ecrf-draft-sent";

function draftValues(form) {
  const values = [];
  for (const [name, value] of new FormData(form)) {
    if (name !== "csrfmiddlewaretoken" && name !== "row_version" && typeof value === "string") {
      values.push([name, value]);
    }
  }
  return values;
}

function readDraft(key) {
  try {
    return JSON.parse(window.localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

function restoreDraft(form, values) {
  const byName = new Map();
  for (const [name, value] of values) {
    byName.set(name, [...(byName.get(name) || []), value]);
  }
  for (const element of form.elements) {
    if (!element.name || element.name === "csrfmiddlewaretoken" || element.name === "row_version") {
      continue;
    }
    const given = byName.get(element.name) || [];
    if (element.type === "checkbox" || element.type === "radio") {
      element.checked = given.includes(element.value);
    } else if (element instanceof HTMLSelectElement && element.multiple) {
      for (const option of element.options) {
        option.selected = given.includes(option.value);
      }
    } else if ("value" in element && element.type !== "submit" && element.type !== "button") {
      element.value = given.length ? given[0] : "";
    }
  }
  markDirty(form);
}

function setUpDraft(form) {
  const key = form.dataset.draftKey;
  if (!key) {
    return;
  }
  const keep = () => {
    window.localStorage.setItem(
      key,
      JSON.stringify({ savedAt: new Date().toISOString(), values: draftValues(form) }),
    );
  };
  form.addEventListener("input", keep);
  form.addEventListener("change", keep);
  form.addEventListener("submit", () => {
    window.sessionStorage.setItem(DRAFT_SENT, key);
  });
  const draft = readDraft(key);
  const offer = document.querySelector("[data-draft-offer]");
  if (!draft || !offer || JSON.stringify(draft.values) === JSON.stringify(draftValues(form))) {
    return;
  }
  const time = offer.querySelector("[data-draft-time]");
  if (time) {
    time.dateTime = draft.savedAt;
    time.textContent = new Date(draft.savedAt).toLocaleString(document.documentElement.lang, {
      timeZone: offer.dataset.timeZone || undefined,
      dateStyle: "medium",
      timeStyle: "short",
    });
  }
  offer.hidden = false;
  offer.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("button") : null;
    if (!button) {
      return;
    }
    if (button.matches("[data-draft-restore]")) {
      restoreDraft(form, draft.values);
    } else if (button.matches("[data-draft-discard]")) {
      window.localStorage.removeItem(key);
    }
    offer.hidden = true;
  });
}

// The page after a form was sent: when it says the form was saved (a new record is then shown
// under its own key), the draft kept of what was sent is forgotten.
const sentDraft = window.sessionStorage.getItem(DRAFT_SENT);
if (sentDraft) {
  window.sessionStorage.removeItem(DRAFT_SENT);
  if (document.querySelector(".messages .form-saved")) {
    window.localStorage.removeItem(sentDraft);
  }
}

// Drafts hold clinical data typed in this browser: they are forgotten when the person signs
// out, and any older than a day are forgotten on every page.
const DRAFT_PREFIX = "ecrf-draft:";
const DRAFT_MAX_AGE_MS = 24 * 60 * 60 * 1000;

function forgetDrafts(olderThan) {
  for (const key of Object.keys(window.localStorage)) {
    if (!key.startsWith(DRAFT_PREFIX)) {
      continue;
    }
    const draft = readDraft(key);
    const age = draft && draft.savedAt ? Date.now() - Date.parse(draft.savedAt) : Infinity;
    if (olderThan === undefined || !(age <= olderThan)) {
      window.localStorage.removeItem(key);
    }
  }
}

forgetDrafts(DRAFT_MAX_AGE_MS);
for (const form of document.querySelectorAll("form[data-sign-out]")) {
  form.addEventListener("submit", () => forgetDrafts());
}

for (const form of document.querySelectorAll("form[data-draft-key]")) {
  setUpDraft(form);
}
