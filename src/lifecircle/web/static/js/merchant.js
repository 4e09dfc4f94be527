/* Merchant 进图: register or update an outlet (name, 业态, location picked on the map, hours,
 * services, brand); submissions wait in the planners' moderation queue. */
(function () {
  "use strict";
  var LC = window.LC;
  var $ = function (id) { return document.getElementById(id); };

  /* Common services of community outlets (便民服务); stored as their Chinese names. */
  var SERVICES = [
    ["代收代发", "svc.parcel"], ["打印复印", "svc.print"], ["配钥匙", "svc.keys"], ["修鞋", "svc.shoes"],
    ["缝补改衣", "svc.tailor"], ["家电维修", "svc.appliance"], ["手机充电", "svc.charge"],
    ["早餐", "svc.breakfast"], ["送货上门", "svc.delivery"], ["老年助餐", "svc.elder_meal"],
    ["便民缴费", "svc.bills"], ["无障碍通道", "svc.accessible"]
  ];
  var KNOWN = {};
  SERVICES.forEach(function (s) { KNOWN[s[0]] = true; });

  var state = { editing: null, map: null, marker: null, started: false };

  function renderServices() {
    var box = $("o-services");
    var checked = {};
    box.querySelectorAll("input:checked").forEach(function (i) { checked[i.value] = true; });
    box.innerHTML = "";
    SERVICES.forEach(function (s, i) {
      var id = "svc-" + i;
      var input = LC.el("input", { type: "checkbox", id: id, name: "services", value: s[0] });
      input.checked = !!checked[s[0]];
      box.appendChild(LC.el("div", { class: "check" }, [input, LC.el("label", { for: id, text: LC.t(s[1]) })]));
    });
  }

  /* ---------- location picking ---------- */
  function setPoint(lat, lon, pan) {
    $("o-lat").value = lat.toFixed(6);
    $("o-lon").value = lon.toFixed(6);
    if (!state.map) return;
    state.marker = LC.placeMarker(state.map, state.marker, lat, lon, LC.t("mer.marker"), setPoint);
    if (pan) state.map.panTo([lat, lon]);
  }

  function pointFromInputs() {
    var lat = parseFloat($("o-lat").value);
    var lon = parseFloat($("o-lon").value);
    if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) setPoint(lat, lon, true);
  }

  /* ---------- form ---------- */
  function formBody() {
    var services = [];
    $("o-services").querySelectorAll("input:checked").forEach(function (i) { services.push(i.value); });
    LC.services($("o-services-other").value).forEach(function (s) { if (services.indexOf(s) < 0) services.push(s); });
    return {
      name: $("o-name").value.trim(),
      category: $("o-category").value,
      lon: parseFloat($("o-lon").value),
      lat: parseFloat($("o-lat").value),
      opening_hours: $("o-hours").value.trim() || null,
      services: services,
      brand: $("o-brand").value.trim() || null
    };
  }

  function validate(body) {
    var problems = [];
    if (!body.name) problems.push(["o-name", LC.t("mer.need_name")]);
    if (!body.category) problems.push(["o-category", LC.t("mer.need_category")]);
    if (!isFinite(body.lon) || !isFinite(body.lat)) problems.push(["o-lon", LC.t("mer.need_location")]);
    document.querySelectorAll("#outlet-form [aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    problems.forEach(function (p) { $(p[0]).setAttribute("aria-invalid", "true"); });
    return problems;
  }

  function submit(ev) {
    ev.preventDefault();
    var status = $("outlet-status");
    var body = formBody();
    var problems = validate(body);
    if (problems.length) {
      LC.status(status, problems.map(function (p) { return p[1]; }).join("；"), "error");
      $(problems[0][0]).focus();
      return;
    }
    var editing = state.editing;
    var method = editing ? "PUT" : "POST";
    var url = editing ? "/api/merchant/outlets/" + encodeURIComponent(editing.outlet_id || editing.id) : "/api/merchant/outlets";
    $("o-submit").disabled = true;
    LC.status(status, LC.t("common.working"), "info");
    LC.api(method, url, body).then(function (r) {
      $("o-submit").disabled = false;
      if (!r.ok) {
        LC.status(status, r.message, "error");
        if (r.status === 401) showLogin();
        return;
      }
      LC.status(status, LC.t(editing ? "mer.updated" : "mer.submitted"), "ok");
      status.dataset.submissionId = String((r.data && (r.data.id || r.data.submission_id)) || "");
      resetForm(false);
      loadSubmissions();
    });
  }

  function resetForm(clearStatus) {
    state.editing = null;
    $("outlet-form").reset();
    if (state.marker) { state.marker.remove(); state.marker = null; }
    $("editing-note").hidden = true;
    $("form-title").textContent = LC.t("mer.new");
    if (clearStatus) LC.status($("outlet-status"), "", "info");
  }

  /* An approved outlet is updated in place (PUT); a rejected registration is filled in again
   * as a new one. */
  function edit(sub) {
    var data = sub.payload || sub.data || sub.outlet || sub;
    var outletId = sub.outlet_id || sub.target_id || null;
    state.editing = outletId ? { outlet_id: outletId } : null;
    $("o-name").value = data.name || "";
    $("o-category").value = data.category || "";
    $("o-hours").value = data.opening_hours || "";
    $("o-brand").value = data.brand || "";
    var services = LC.services(data.services);
    $("o-services").querySelectorAll("input").forEach(function (i) { i.checked = services.indexOf(i.value) >= 0; });
    $("o-services-other").value = services.filter(function (s) { return !KNOWN[s]; }).join("、");
    var lon = data.lon !== undefined ? data.lon : (data.geometry && data.geometry.coordinates[0]);
    var lat = data.lat !== undefined ? data.lat : (data.geometry && data.geometry.coordinates[1]);
    if (isFinite(lon) && isFinite(lat)) setPoint(Number(lat), Number(lon), true);
    $("editing-name").textContent = data.name || "";
    $("editing-note").hidden = !outletId;
    $("form-title").textContent = LC.t(outletId ? "mer.update" : "mer.new");
    $("o-name").focus();
  }

  /* ---------- submissions ---------- */
  function loadSubmissions() {
    return LC.get("/api/merchant/submissions").then(function (r) {
      var list = $("submissions");
      list.innerHTML = "";
      if (!r.ok) { list.appendChild(LC.el("li", { class: "empty", text: r.message })); return; }
      var rows = Array.isArray(r.data) ? r.data : (r.data && (r.data.items || r.data.submissions)) || [];
      if (!rows.length) { list.appendChild(LC.el("li", { class: "empty", text: LC.t("mer.no_submissions") })); return; }
      rows.forEach(function (sub) {
        var data = sub.payload || sub.data || sub.outlet || sub;
        var st = sub.status || "pending";
        var li = LC.el("li", { class: "sub", "data-status": st, "data-id": String(sub.id) }, [
          LC.el("div", { class: "sub-head" }, [
            LC.el("strong", { text: data.name || sub.name || "" }),
            LC.el("span", { class: "badge badge-" + st, text: LC.t("status." + st) })
          ]),
          LC.el("div", { class: "fine", text: [
            LC.catName(data.category || sub.category),
            LC.fmtDate(sub.created_at || sub.submitted_at),
            sub.reason ? LC.t("mer.reason", { r: sub.reason }) : ""
          ].filter(Boolean).join(" · ") })
        ]);
        if (st === "approved" || st === "rejected") {
          li.appendChild(LC.el("button", {
            type: "button", class: "btn btn-small",
            text: LC.t(st === "approved" && (sub.outlet_id || sub.target_id) ? "mer.edit" : "mer.resubmit"),
            onclick: function () { edit(sub); }
          }));
        }
        list.appendChild(li);
      });
    });
  }

  /* ---------- session ---------- */
  function showLogin() {
    $("login-area").hidden = false;
    $("work").hidden = true;
    $("wrong-role").hidden = true;
    LC.showUserbar(null);
  }

  function start(user) {
    if (!user) { showLogin(); return; }
    LC.showUserbar(user, function () { showLogin(); });
    $("login-area").hidden = true;
    if (user.role !== "merchant" && user.role !== "admin") {
      $("wrong-role").hidden = false;
      $("work").hidden = true;
      return;
    }
    $("wrong-role").hidden = true;
    $("work").hidden = false;
    loadSubmissions();
    if (state.started) return;
    state.started = true;
    LC.loadCategories().then(function () {
      LC.fillCategorySelect($("o-category"), "mer.choose_category");
      return LC.createMap("pick-map", { zoom: 16 });
    }).then(function (made) {
      state.map = made.map;
      made.map.on("click", function (ev) { setPoint(ev.latlng.lat, ev.latlng.lng, false); });
      document.body.dataset.ready = "1";
    });
  }

  renderServices();
  LC.onLang(function () {
    renderServices();
    if (LC.categories.length) LC.fillCategorySelect($("o-category"), "mer.choose_category");
    if (state.editing) $("form-title").textContent = LC.t("mer.update");
    if (LC.user) { LC.showUserbar(LC.user, showLogin); if (!$("work").hidden) loadSubmissions(); }
  });
  $("outlet-form").addEventListener("submit", submit);
  $("cancel-edit").addEventListener("click", function () { resetForm(true); });
  $("o-lon").addEventListener("change", pointFromInputs);
  $("o-lat").addEventListener("change", pointFromInputs);
  $("o-locate").addEventListener("click", function () {
    if (!navigator.geolocation) { LC.toast(LC.t("res.no_geo"), "error"); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      setPoint(pos.coords.latitude, pos.coords.longitude, true);
    }, function () { LC.toast(LC.t("res.geo_denied"), "error"); }, { enableHighAccuracy: true, timeout: 10000 });
  });
  document.querySelectorAll("[data-hours]").forEach(function (btn) {
    btn.addEventListener("click", function () { $("o-hours").value = btn.dataset.hours; });
  });
  LC.bindLogin(start);
  LC.me().then(start);
})();
