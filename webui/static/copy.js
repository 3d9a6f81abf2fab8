// The copy button of a new token: the only script of the token pages.
// Without it the token stays selectable in its read-only field.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.querySelector(".copied");
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      field.select();
      var done = function () {
        if (status) { status.hidden = false; status.textContent = "Token copied to the clipboard."; }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
  // A page showing a new secret puts it in focus, selected.
  var secret = document.getElementById("new-token");
  if (secret) { secret.focus(); secret.select(); }
});
