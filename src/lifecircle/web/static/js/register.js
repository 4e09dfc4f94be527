/* Merchant self-registration (商户注册): the account waits for a planner's approval. */
(function () {
  "use strict";
  var LC = window.LC;
  var $ = function (id) { return document.getElementById(id); };

  $("reg-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var status = $("reg-status");
    var body = {
      display_name: $("r-shop").value.trim(),
      phone: $("r-phone").value.trim(),
      licence_no: $("r-licence").value.trim(),
      username: $("r-username").value.trim(),
      password: $("r-password").value
    };
    var missing = ["r-shop", "r-phone", "r-licence", "r-username", "r-password"].filter(function (id) {
      return !$(id).value.trim();
    });
    if (missing.length) {
      LC.status(status, LC.t("reg.missing"), "error");
      $(missing[0]).focus();
      return;
    }
    $("r-submit").disabled = true;
    LC.status(status, LC.t("common.working"), "info");
    LC.api("POST", "/api/accounts/register", body).then(function (r) {
      $("r-submit").disabled = false;
      if (!r.ok) { LC.status(status, r.message, "error"); return; }
      $("r-password").value = "";
      LC.status(status, LC.t("reg.done", { user: r.data.username }), "ok");
      status.dataset.userId = String(r.data.id);
    });
  });
  document.body.dataset.ready = "1";
})();
