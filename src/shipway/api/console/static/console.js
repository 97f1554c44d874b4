// Shipway console: a little progressive enhancement; every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // A refused form: move the focus to the message, so keyboard and screen-reader users hear it first.
  var problem = document.getElementById("problem");
  if (problem) { problem.focus(); }
  // One submission per click: disable a form's buttons once it is sent.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
      }, 0);
    });
  });
});
