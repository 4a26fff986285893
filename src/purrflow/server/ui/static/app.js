// purrflow's web UI: small progressive enhancements; every page works without them.
"use strict";

// Copy buttons: shown only when there is a script to make them work.
function setUpCopyButtons(root) {
  for (const button of root.querySelectorAll("button.copy[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select and copy";
      }
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  }
}

// Forms that destroy something ask first: <form data-confirm="Delete project x?">.
function setUpConfirmations(root) {
  for (const form of root.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
}

// The CSRF token of this page, for fetch() calls: send it as the X-CSRF-Token header.
window.purrCsrf = function purrCsrf() {
  const field = document.querySelector('input[name="csrf"]');
  return field ? field.value : "";
};

document.addEventListener("DOMContentLoaded", () => {
  setUpCopyButtons(document);
  setUpConfirmations(document);
});
