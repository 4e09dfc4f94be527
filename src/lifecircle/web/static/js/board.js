/* Community board (社区公告栏): gig jobs (零工服务专区), promotions and events by circle.
 * Anyone may read; merchants, planners and administrators post (the server checks the role). */
(function () {
  "use strict";
  var LC = window.LC;
  var $ = function (id) { return document.getElementById(id); };
  var state = { kind: "", circles: [], posts: [] };

  function circleName(id) {
    var c = state.circles.filter(function (x) { return String(x.circle_id) === String(id); })[0];
    return c ? (c.name || String(id)) : (id ? String(id) : "");
  }

  function fillCircles() {
    [["b-circle", "board.all_circles"], ["p-circle", "board.no_circle"]].forEach(function (pair) {
      var select = $(pair[0]);
      var current = select.value;
      select.innerHTML = "";
      select.appendChild(LC.el("option", { value: "", text: LC.t(pair[1]) }));
      state.circles.forEach(function (c) {
        select.appendChild(LC.el("option", { value: String(c.circle_id), text: c.name || String(c.circle_id) }));
      });
      select.value = current;
    });
  }

  function loadCircles() {
    return LC.get("/api/circles").then(function (r) {
      if (!r.ok) return;
      var data = r.data;
      var list = data && data.features ? data.features.map(function (f) {
        var p = f.properties || {};
        return { circle_id: p.circle_id !== undefined ? p.circle_id : f.id, name: p.name };
      }) : (Array.isArray(data) ? data : []);
      state.circles = list;
      fillCircles();
      var wanted = new URLSearchParams(window.location.search).get("circle_id");
      if (wanted) { $("b-circle").value = wanted; $("p-circle").value = wanted; }
    });
  }

  function renderPosts() {
    var list = $("posts");
    list.innerHTML = "";
    var posts = state.posts.filter(function (p) { return !state.kind || p.kind === state.kind; });
    if (!posts.length) { list.appendChild(LC.el("li", { class: "empty card", text: LC.t("board.empty") })); return; }
    posts.forEach(function (p) {
      var meta = [circleName(p.circle_id), p.author || p.username || "", LC.fmtDate(p.created_at)].filter(Boolean).join(" · ");
      var card = LC.el("li", { class: "post card post-" + (p.kind || "other"), "data-id": String(p.id) }, [
        LC.el("div", { class: "sub-head" }, [
          LC.el("h3", { text: p.title || "" }),
          LC.el("span", { class: "badge badge-" + p.kind, text: LC.t("board.kind." + p.kind) })
        ]),
        LC.el("p", { class: "post-body", text: p.body || "" }),
        p.coupon ? LC.el("p", { class: "coupon" }, [
          LC.el("span", { text: LC.t("board.coupon") + "：" }), LC.el("strong", { text: p.coupon })
        ]) : null,
        p.valid_until ? LC.el("p", { class: "fine", text: LC.t("board.until", { d: LC.fmtDate(p.valid_until) }) }) : null,
        meta ? LC.el("p", { class: "fine", text: meta }) : null
      ]);
      list.appendChild(card);
    });
  }

  function loadPosts() {
    return LC.get("/api/board" + LC.query({ circle_id: $("b-circle").value })).then(function (r) {
      if (!r.ok) { LC.toast(r.message, "error"); state.posts = []; renderPosts(); return; }
      var data = r.data;
      state.posts = Array.isArray(data) ? data : (data && (data.items || data.posts)) || [];
      renderPosts();
    });
  }

  function submit(ev) {
    ev.preventDefault();
    var status = $("post-status");
    var body = {
      kind: $("p-kind").value,
      title: $("p-title").value.trim(),
      body: $("p-body").value.trim(),
      circle_id: $("p-circle").value || null,
      valid_until: $("p-until").value || null
    };
    var coupon = $("p-coupon").value.trim();
    if (coupon) body.coupon = coupon;
    var missing = [];
    if (!body.title) missing.push("p-title");
    if (!body.body) missing.push("p-body");
    document.querySelectorAll("#post-form [aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    if (missing.length) {
      missing.forEach(function (id) { $(id).setAttribute("aria-invalid", "true"); });
      LC.status(status, LC.t("board.missing"), "error");
      $(missing[0]).focus();
      return;
    }
    $("p-submit").disabled = true;
    LC.api("POST", "/api/board", body).then(function (r) {
      $("p-submit").disabled = false;
      if (!r.ok) {
        var msg = r.message;
        if (r.status === 401 || r.status === 403) msg += " — " + LC.t("board.login_needed");
        LC.status(status, msg, "error");
        return;
      }
      var st = r.data && r.data.status;
      LC.status(status, LC.t(st === "pending" ? "board.pending" : "board.posted"), "ok");
      $("post-form").reset();
      loadPosts();
    });
  }

  function showUser(user) {
    LC.showUserbar(user, function () { showUser(null); });
    $("post-login-hint").hidden = !!user;
  }

  document.querySelectorAll(".chip[data-kind]").forEach(function (chip) {
    chip.addEventListener("click", function () {
      state.kind = chip.dataset.kind;
      document.querySelectorAll(".chip[data-kind]").forEach(function (c) {
        c.setAttribute("aria-pressed", c === chip ? "true" : "false");
      });
      renderPosts();
    });
  });
  /* a post may run for up to a year (the server refuses dates further ahead) */
  (function () {
    var today = new Date();
    var iso = function (d) { return d.toISOString().slice(0, 10); };
    $("p-until").min = iso(today);
    $("p-until").max = iso(new Date(today.getTime() + 365 * 86400000));
  })();
  $("b-circle").addEventListener("change", loadPosts);
  $("post-form").addEventListener("submit", submit);
  LC.onLang(function () { fillCircles(); renderPosts(); showUser(LC.user); });
  LC.me().then(showUser);
  loadCircles().then(loadPosts).then(function () { document.body.dataset.ready = "1"; });
})();
