/* Login page: merchants, planners and administrators; residents need no account. */
(function () {
  "use strict";
  var LC = window.LC;
  var $ = function (id) { return document.getElementById(id); };

  /* Where to go after login: ?next=/path (same site only) or the role's home page. */
  function target(role) {
    var next = new URLSearchParams(window.location.search).get("next") || "";
    if (/^\/(?![\/\\])/.test(next)) return next;
    if (role === "merchant") return "/merchant";
    if (role === "planner" || role === "admin") return "/planner";
    return "/";
  }

  function showUser(user) {
    $("login-form").hidden = !!user;
    $("logged-in").hidden = !user;
    if (!user) return;
    $("logged-in-text").textContent = LC.t("login.as", { user: user.username, role: LC.t("role." + user.role) });
    $("go-role").href = target(user.role);
  }

  LC.bindLogin(function (user) { window.location.assign(target(user && user.role)); });
  $("logout").addEventListener("click", function () {
    LC.logout().then(function () { showUser(null); $("username").focus(); });
  });
  LC.onLang(function () { showUser(LC.user); });
  LC.me().then(showUser);
})();
