/* Accounts (账户管理): planners and administrators approve merchants' registrations;
 * administrators also create accounts, change roles and districts, disable and reset them. */
(function () {
  "use strict";
  var LC = window.LC;
  var $ = function (id) { return document.getElementById(id); };
  var state = { pending: [], users: [] };

  function districts(text) {
    return String(text || "").split(/[,，、;；]/).map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function renderPending() {
    var table = $("pending-table");
    table.innerHTML = "";
    $("pending-empty").hidden = state.pending.length > 0;
    table.hidden = !state.pending.length;
    if (!state.pending.length) return;
    table.appendChild(LC.el("thead", null, [LC.el("tr", null, ["adm.shop", "login.username", "reg.phone", "reg.licence", "adm.actions"].map(function (k) {
      return LC.el("th", { scope: "col", text: LC.t(k) });
    }))]));
    var body = LC.el("tbody");
    state.pending.forEach(function (u) {
      body.appendChild(LC.el("tr", { "data-user": u.username }, [
        LC.el("th", { scope: "row", text: u.display_name || "" }),
        LC.el("td", { text: u.username }),
        LC.el("td", { text: u.phone || "" }),
        LC.el("td", { text: u.licence_no || "" }),
        LC.el("td", { class: "nowrap" }, [
          LC.el("button", { type: "button", class: "btn btn-small btn-primary adm-approve", text: LC.t("adm.approve"),
            onclick: function () { decide(u, "approve"); } }),
          " ",
          LC.el("button", { type: "button", class: "btn btn-small btn-danger adm-reject", text: LC.t("adm.reject"),
            onclick: function () { decide(u, "reject"); } })
        ])
      ]));
    });
    table.appendChild(body);
  }

  function decide(user, action) {
    LC.api("POST", "/api/accounts/" + user.id + "/" + action).then(function (r) {
      if (!r.ok) { LC.status($("pending-status"), r.message, "error"); return; }
      LC.status($("pending-status"), LC.t(action === "approve" ? "adm.approved" : "adm.rejected", { user: user.username }), "ok");
      loadAll();
    });
  }

  function change(user, body, message) {
    return LC.api("PATCH", "/api/admin/users/" + user.id, body).then(function (r) {
      if (!r.ok) { LC.status($("users-status"), r.message, "error"); loadAll(); return; }
      LC.status($("users-status"), LC.t(message, { user: user.username }), "ok");
      loadAll();
    });
  }

  function resetPassword(user) {
    var password = window.prompt(LC.t("adm.new_password", { user: user.username }));
    if (!password) return;
    LC.api("POST", "/api/admin/users/" + user.id + "/password", { password: password }).then(function (r) {
      LC.status($("users-status"), r.ok ? LC.t("adm.password_done", { user: user.username }) : r.message, r.ok ? "ok" : "error");
    });
  }

  function renderUsers() {
    var table = $("users-table");
    table.innerHTML = "";
    table.appendChild(LC.el("thead", null, [LC.el("tr", null, ["login.username", "adm.display", "adm.role", "adm.districts", "adm.state", "adm.actions"].map(function (k) {
      return LC.el("th", { scope: "col", text: LC.t(k) });
    }))]));
    var body = LC.el("tbody");
    state.users.forEach(function (u) {
      var role = LC.el("select", { "aria-label": LC.t("adm.role") + " " + u.username, class: "adm-role" },
        ["merchant", "planner", "admin"].map(function (r) { return LC.el("option", { value: r, text: LC.t("role." + r) }); }));
      role.value = u.role;
      role.addEventListener("change", function () { change(u, { role: role.value }, "adm.changed"); });
      var dist = LC.el("input", { value: (u.districts || []).join("、"), class: "adm-districts", "aria-label": LC.t("adm.districts") + " " + u.username });
      dist.addEventListener("change", function () { change(u, { districts: districts(dist.value) }, "adm.changed"); });
      var stateText = u.pending ? LC.t("status.pending") : (u.active ? LC.t("adm.active") : LC.t("adm.disabled"));
      body.appendChild(LC.el("tr", { "data-user": u.username }, [
        LC.el("th", { scope: "row", text: u.username }),
        LC.el("td", { text: u.display_name || "" }),
        LC.el("td", null, [role]),
        LC.el("td", null, [dist]),
        LC.el("td", { class: "adm-state", text: stateText }),
        LC.el("td", { class: "nowrap" }, [
          LC.el("button", { type: "button", class: "btn btn-small adm-toggle",
            text: LC.t(u.active ? "adm.disable" : "adm.enable"),
            onclick: function () { change(u, { active: !u.active }, u.active ? "adm.disabled_done" : "adm.enabled_done"); } }),
          " ",
          LC.el("button", { type: "button", class: "btn btn-small adm-reset", text: LC.t("adm.reset"),
            onclick: function () { resetPassword(u); } })
        ])
      ]));
    });
    table.appendChild(body);
  }

  function loadAll() {
    var jobs = [LC.get("/api/accounts/pending").then(function (r) {
      state.pending = r.ok && Array.isArray(r.data) ? r.data : [];
      renderPending();
    })];
    if (LC.user && LC.user.role === "admin") {
      jobs.push(LC.get("/api/admin/users").then(function (r) {
        state.users = r.ok && Array.isArray(r.data) ? r.data : [];
        renderUsers();
      }));
    }
    return Promise.all(jobs);
  }

  $("new-user").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = {
      username: $("u-name").value.trim(),
      display_name: $("u-display").value.trim() || null,
      role: $("u-role").value,
      districts: districts($("u-districts").value),
      password: $("u-password").value
    };
    LC.api("POST", "/api/admin/users", body).then(function (r) {
      if (!r.ok) { LC.status($("users-status"), r.message, "error"); return; }
      $("new-user").reset();
      LC.status($("users-status"), LC.t("adm.created", { user: r.data.username }), "ok");
      loadAll();
    });
  });

  function showLogin() {
    $("login-area").hidden = false;
    $("adm").hidden = true;
    LC.showUserbar(null);
    document.body.dataset.ready = "1";
  }

  function start(user) {
    if (!user || (user.role !== "planner" && user.role !== "admin")) { showLogin(); return; }
    LC.showUserbar(user, showLogin);
    $("login-area").hidden = true;
    $("adm").hidden = false;
    $("users-section").hidden = user.role !== "admin";
    loadAll().then(function () { document.body.dataset.ready = "1"; });
  }

  LC.onLang(function () { if (LC.user && !$("adm").hidden) { renderPending(); if (LC.user.role === "admin") renderUsers(); } });
  LC.bindLogin(start);
  LC.me().then(start);
})();
