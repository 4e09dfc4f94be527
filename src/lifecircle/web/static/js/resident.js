/* Resident map (便民地图): outlets by 业态, slogan shortcuts, search, nearest outlets on foot
 * with the walking route, outlet details, the 5/10/15-minute walking area, "what is missing". */
(function () {
  "use strict";
  var LC = window.LC;

  /* 小修小补: the household mending trades (配钥匙、修鞋、缝补、家电维修 …) are the 维修点 业态. */
  var REPAIR_VIEW = ["repair"];
  var MAX_LISTED = 60;
  var COLORS = { basic: "#1565c0", quality: "#8e24aa", pending: "#ef6c00" };

  var state = {
    slogan: "",
    category: "",
    q: "",
    origin: null,        /* {lat, lon} */
    results: [],         /* nearest results */
    selected: -1,
    outlets: [],         /* features on the map */
    walkArea: false,
    map: null
  };
  var layers = {};
  var $ = function (id) { return document.getElementById(id); };

  /* ---------- categories of the current filter ---------- */
  function sloganCategories(slogan) {
    if (!slogan) return [];
    if (state.sloganCats && state.sloganCats[slogan]) return state.sloganCats[slogan].slice();
    if (slogan === "小修小补") return REPAIR_VIEW.slice();
    var parts = [slogan.slice(0, 2), slogan.slice(2, 4)];
    return LC.categories.filter(function (c) {
      return (c.slogans || []).some(function (s) { return parts.indexOf(s) >= 0; });
    }).map(function (c) { return c.code; });
  }
  function activeCategories() {
    if (state.category) return [state.category];
    return sloganCategories(state.slogan);
  }

  /* ---------- outlets on the map ---------- */
  var outletSeq = 0;
  function loadOutlets(fit) {
    var map = state.map;
    var params = { limit: state.q ? 300 : 1500 };
    if (state.q) params.q = state.q;
    else {
      var b = map.getBounds().pad(0.2);
      params.bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",");
    }
    var requests;
    if (state.category) requests = [Object.assign({ category: state.category }, params)];
    else if (state.slogan) requests = [Object.assign({ slogan: state.slogan }, params)];
    else requests = [params];
    var seq = ++outletSeq;
    return Promise.all(requests.map(function (p) { return LC.get("/api/outlets" + LC.query(p)); })).then(function (answers) {
      if (seq !== outletSeq) return;
      var features = [];
      var seen = {};
      var total = 0;
      answers.forEach(function (r) {
        if (!r.ok) { LC.toast(r.message, "error"); return; }
        total += (r.data && typeof r.data.total === "number") ? r.data.total : ((r.data && r.data.features) || []).length;
        ((r.data && r.data.features) || []).forEach(function (f) {
          var id = outletId(f);
          if (seen[id]) return;
          seen[id] = true;
          features.push(f);
        });
      });
      state.outlets = features;
      state.total = Math.max(total, features.length);
      drawOutlets(features);
      renderListing(features);
      if (fit && features.length) {
        var bounds = L.latLngBounds(features.map(function (f) { return [f.geometry.coordinates[1], f.geometry.coordinates[0]]; }));
        map.fitBounds(bounds.pad(0.15), { maxZoom: 17 });
      }
    });
  }

  function outletId(f) {
    return String(f.id !== undefined ? f.id : (f.properties && (f.properties.id || f.properties.outlet_id)));
  }

  function drawOutlets(features) {
    layers.outlets.clearLayers();
    features.forEach(function (f) {
      if (!f.geometry || f.geometry.type !== "Point") return;
      var p = f.properties || {};
      var cls = p["class"] || (LC.categoryByCode[p.category] || {})["class"] || "basic";
      var marker = L.circleMarker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
        radius: LC.elder ? 8 : 6,
        color: "#ffffff",
        weight: 1.5,
        fillColor: COLORS[cls] || COLORS.basic,
        fillOpacity: 0.95,
        className: "lc-outlet lc-outlet-" + cls
      });
      marker.bindTooltip(LC.tipText(p.name || LC.catName(p.category, p.category_zh)), { direction: "top", offset: [0, -4] });
      marker.on("click", function (ev) {
        L.DomEvent.stopPropagation(ev);
        showDetails(outletId(f), f);
      });
      marker.addTo(layers.outlets);
      var el = marker.getElement && marker.getElement();
      if (el) {
        el.setAttribute("data-outlet-id", outletId(f));
        el.setAttribute("data-name", p.name || "");
      }
    });
    state.map.getContainer().dataset.outlets = String(features.length);
  }

  function renderListing(features) {
    var list = $("outlet-list");
    list.innerHTML = "";
    var title = $("listing-title");
    var label = state.q ? LC.t("res.search_results", { q: state.q })
      : state.slogan ? LC.t("slogan." + state.slogan)
      : state.category ? LC.catName(state.category) : LC.t("res.in_view");
    title.textContent = label + " · " + LC.t("res.count", { n: Math.max(state.total || 0, features.length) });
    var rows = features.slice();
    if (state.origin) {
      var o = L.latLng(state.origin.lat, state.origin.lon);
      rows.sort(function (a, b) {
        return o.distanceTo([a.geometry.coordinates[1], a.geometry.coordinates[0]]) -
          o.distanceTo([b.geometry.coordinates[1], b.geometry.coordinates[0]]);
      });
    }
    rows.slice(0, MAX_LISTED).forEach(function (f) {
      var p = f.properties || {};
      var btn = LC.el("button", {
        type: "button",
        class: "result",
        "data-outlet-id": outletId(f),
        onclick: function () { showDetails(outletId(f), f); }
      }, [
        LC.el("span", { class: "r-name", text: p.name || LC.t("res.unnamed") }),
        LC.el("span", { class: "r-meta", text: LC.catName(p.category, p.category_zh) + (p.brand ? " · " + p.brand : "") })
      ]);
      list.appendChild(LC.el("li", null, [btn]));
    });
    var all = Math.max(state.total || 0, features.length);
    if (all > MAX_LISTED) {
      list.appendChild(LC.el("li", { class: "more", text: LC.t("res.more", { n: all - MAX_LISTED }) }));
    }
  }

  /* ---------- nearest outlets on foot ---------- */
  function setOrigin(lat, lon) {
    state.origin = { lat: lat, lon: lon };
    layers.origin.clearLayers();
    L.circleMarker([lat, lon], {
      radius: 9, color: "#ffffff", weight: 3, fillColor: "#d32f2f", fillOpacity: 1, className: "lc-origin"
    }).addTo(layers.origin).bindTooltip(LC.tipText(LC.t("res.origin")));
    var sheet = $("nearest");
    sheet.dataset.originLon = lon.toFixed(6);
    sheet.dataset.originLat = lat.toFixed(6);
    if (state.walkArea) loadWalkArea();
    showSurveyLink(lat, lon);
    return findNearest();
  }

  /* the survey of the circle the resident clicked in (满意度调查) */
  function showSurveyLink(lat, lon) {
    var line = $("survey-link-line");
    line.hidden = true;
    LC.get("/api/circles/at" + LC.query({ lon: lon.toFixed(6), lat: lat.toFixed(6) })).then(function (r) {
      if (!r.ok || !r.data || !r.data.survey_url) return;
      $("survey-link").setAttribute("href", r.data.survey_url);
      $("survey-circle").textContent = r.data.name ? "（" + r.data.name + "）" : "";
      line.hidden = false;
    });
  }

  var nearestSeq = 0;
  function findNearest() {
    if (!state.origin) return Promise.resolve();
    var cats = activeCategories();
    var k = cats.length > 1 ? 3 : 5;
    var base = { lon: state.origin.lon.toFixed(6), lat: state.origin.lat.toFixed(6), k: k };
    var calls = cats.length ? cats.map(function (c) { return Object.assign({ category: c }, base); }) : [base];
    var seq = ++nearestSeq;
    $("nearest").setAttribute("aria-busy", "true");
    return Promise.all(calls.map(function (p) { return LC.get("/api/nearest" + LC.query(p)); })).then(function (answers) {
      if (seq !== nearestSeq) return;
      $("nearest").removeAttribute("aria-busy");
      var results = [];
      var origin = null;
      var failure = null;
      answers.forEach(function (r) {
        if (!r.ok) { failure = r; return; }
        origin = origin || r.data.origin;
        (r.data.results || []).forEach(function (x) { results.push(x); });
      });
      if (!results.length && failure) {
        LC.toast(failure.message, "error");
      }
      results.sort(function (a, b) { return (a.distance_m || Infinity) - (b.distance_m || Infinity); });
      if (cats.length > 1) results = results.slice(0, 8);
      state.results = results;
      state.nearestOrigin = origin;
      renderNearest(origin);
      selectResult(results.length ? 0 : -1, false);
    });
  }

  function renderNearest(origin) {
    $("hint").hidden = true;
    $("nearest").hidden = false;
    $("sheet-title").textContent = LC.t("res.nearest_title");
    var access = $("origin-access");
    access.textContent = origin && isFinite(origin.access_m)
      ? LC.t("res.access", { d: LC.fmtDistance(origin.access_m) }) : "";
    var list = $("nearest-list");
    list.innerHTML = "";
    if (!state.results.length) {
      list.appendChild(LC.el("li", { class: "empty", text: LC.t("res.none_found") }));
      return;
    }
    state.results.forEach(function (x, i) {
      var btn = LC.el("button", {
        type: "button",
        class: "result",
        "data-outlet-id": String(x.outlet_id),
        "data-distance-m": String(x.distance_m),
        "data-minutes": String(x.minutes),
        "aria-pressed": "false",
        onclick: function () { selectResult(i, true); }
      }, [
        LC.el("span", { class: "r-rank", text: String(i + 1), "aria-hidden": "true" }),
        LC.el("span", { class: "r-name", text: x.name || LC.t("res.unnamed") }),
        LC.el("span", { class: "r-meta", text: LC.catName(x.category, x.category_zh) }),
        LC.el("span", { class: "r-dist" }, [
          LC.el("strong", { class: "distance", text: LC.fmtDistance(x.distance_m) }),
          LC.el("span", { class: "minutes", text: LC.fmtMinutes(x.minutes) })
        ])
      ]);
      list.appendChild(LC.el("li", null, [btn]));
    });
  }

  function selectResult(index, openDetails) {
    state.selected = index;
    layers.routes.clearLayers();
    var origin = state.nearestOrigin;
    if (origin && isFinite(origin.foot_lat)) {
      L.polyline([[origin.lat, origin.lon], [origin.foot_lat, origin.foot_lon]], {
        color: "#d32f2f", weight: 3, dashArray: "2 6", className: "lc-access-link", interactive: false
      }).addTo(layers.routes);
    }
    state.results.forEach(function (x, i) {
      if (i === index || !x.route) return;
      L.polyline(LC.latLngs(x.route), {
        color: "#5c6bc0", weight: 3, opacity: 0.45, className: "lc-route-alt", interactive: false
      }).addTo(layers.routes);
    });
    document.querySelectorAll("#nearest-list .result").forEach(function (btn, i) {
      btn.setAttribute("aria-pressed", i === index ? "true" : "false");
    });
    if (index < 0) return;
    var chosen = state.results[index];
    if (chosen.route) {
      L.polyline(LC.latLngs(chosen.route), {
        color: "#ffffff", weight: LC.elder ? 12 : 10, opacity: 0.9, className: "lc-route-casing", interactive: false
      }).addTo(layers.routes);
      var route = L.polyline(LC.latLngs(chosen.route), {
        color: "#1a56db", weight: LC.elder ? 8 : 6, opacity: 1, className: "lc-route", interactive: false
      }).addTo(layers.routes);
      var el = route.getElement && route.getElement();
      if (el) {
        el.setAttribute("data-outlet-id", String(chosen.outlet_id));
        el.setAttribute("data-distance-m", String(chosen.distance_m));
      }
      var end = chosen.route.coordinates[chosen.route.coordinates.length - 1];
      if (end) {
        L.circleMarker([end[1], end[0]], {
          radius: 8, color: "#0d47a1", weight: 3, fillColor: "#ffffff", fillOpacity: 1, className: "lc-dest"
        }).addTo(layers.routes).bindTooltip(LC.tipText(chosen.name || ""));
      }
      if (openDetails) {
        var bounds = route.getBounds();
        if (bounds.isValid() && !state.map.getBounds().contains(bounds)) state.map.fitBounds(bounds.pad(0.2));
      }
    }
    if (openDetails) showDetails(String(chosen.outlet_id), null);
  }

  /* ---------- outlet details ---------- */
  function field(list, labelKey, value) {
    if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return;
    list.appendChild(LC.el("dt", { text: LC.t(labelKey) }));
    list.appendChild(LC.el("dd", { text: Array.isArray(value) ? value.join("、") : String(value) }));
  }

  function showDetails(id, feature) {
    var render = function (f) {
      var p = (f && (f.properties || f)) || {};
      $("details-name").textContent = p.name || LC.t("res.unnamed");
      var dl = $("details-fields");
      dl.innerHTML = "";
      field(dl, "f.category", LC.catName(p.category, p.category_zh));
      field(dl, "f.hours", p.opening_hours);
      field(dl, "f.services", LC.services(p.services));
      field(dl, "f.brand", p.brand ? p.brand + (p.is_chain ? " (" + LC.t("f.chain") + ")" : "") : (p.is_chain ? LC.t("f.chain") : ""));
      field(dl, "f.address", p.address);
      field(dl, "f.phone", p.phone);
      var hit = state.results.filter(function (x) { return String(x.outlet_id) === String(id); })[0];
      if (hit) field(dl, "f.walk", LC.fmtDistance(hit.distance_m) + " · " + LC.fmtMinutes(hit.minutes));
      var box = $("details");
      box.dataset.outletId = String(id);
      box.dataset.category = p.category || "";
      box.hidden = false;
      box.focus({ preventScroll: false });
    };
    if (feature) render(feature);
    LC.get("/api/outlets/" + encodeURIComponent(id)).then(function (r) {
      if (r.ok && r.data) render(r.data);
      else if (!feature) LC.toast(r.message, "error");
    });
  }

  function routeToDetails() {
    var box = $("details");
    var id = box.dataset.outletId;
    var index = -1;
    state.results.forEach(function (x, i) { if (String(x.outlet_id) === id) index = i; });
    if (index >= 0) { selectResult(index, false); return; }
    if (!state.origin) { LC.toast(LC.t("res.need_origin"), "info"); return; }
    var cat = box.dataset.category;
    LC.get("/api/nearest" + LC.query({
      lon: state.origin.lon.toFixed(6), lat: state.origin.lat.toFixed(6), category: cat, k: 20
    })).then(function (r) {
      if (!r.ok) { LC.toast(r.message, "error"); return; }
      var hit = (r.data.results || []).filter(function (x) { return String(x.outlet_id) === id; })[0];
      if (!hit) { LC.toast(LC.t("res.too_far"), "info"); return; }
      state.results = [hit];
      state.nearestOrigin = r.data.origin;
      renderNearest(r.data.origin);
      selectResult(0, false);
    });
  }

  /* ---------- walking area 5/10/15 min ---------- */
  var AREA_STYLE = {
    5: { color: "#2e7d32", fillColor: "#66bb6a" },
    10: { color: "#f9a825", fillColor: "#ffd54f" },
    15: { color: "#c62828", fillColor: "#ef9a9a" }
  };
  function loadWalkArea() {
    layers.area.clearLayers();
    if (!state.walkArea) { $("walk-legend").hidden = true; return Promise.resolve(); }
    if (!state.origin) {
      var c = state.map.getCenter();
      return setOrigin(c.lat, c.lng);
    }
    return LC.get("/api/walking-area" + LC.query({
      lon: state.origin.lon.toFixed(6), lat: state.origin.lat.toFixed(6), minutes: "5,10,15"
    })).then(function (r) {
      if (!r.ok) { LC.toast(r.message, "error"); return; }
      var feats = (r.data.features || []).slice().sort(function (a, b) {
        return (b.properties.minutes || 0) - (a.properties.minutes || 0);
      });
      feats.forEach(function (f) {
        var m = Number(f.properties.minutes);
        var style = AREA_STYLE[m] || AREA_STYLE[15];
        L.geoJSON(f, {
          style: function () {
            return { color: style.color, weight: 1.5, opacity: 0.8, fillColor: style.fillColor, fillOpacity: 0.14, className: "lc-walk-area lc-walk-" + m };
          },
          interactive: false
        }).addTo(layers.area);
      });
      $("walk-legend").hidden = false;
      var bounds = L.featureGroup(layers.area.getLayers()).getBounds();
      if (bounds.isValid() && !state.map.getBounds().contains(bounds)) state.map.fitBounds(bounds, { padding: [8, 8] });
    });
  }

  /* ---------- location ---------- */
  function locate(then) {
    if (!navigator.geolocation) { LC.toast(LC.t("res.no_geo"), "error"); return; }
    LC.toast(LC.t("res.locating"), "info");
    navigator.geolocation.getCurrentPosition(function (pos) {
      var ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
      var bounds = state.cityBounds;
      if (bounds && !bounds.pad(0.1).contains(ll)) {
        LC.toast(LC.t("res.outside_city"), "error");
        if (then) then(false);
        return;
      }
      state.map.setView(ll, Math.max(state.map.getZoom(), 16));
      setOrigin(ll.lat, ll.lng);
      if (then) then(true);
    }, function () {
      LC.toast(LC.t("res.geo_denied"), "error");
      if (then) then(false);
    }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  }

  /* ---------- filters ---------- */
  function setSlogan(slogan) {
    state.slogan = slogan;
    state.category = "";
    $("category").value = "";
    document.querySelectorAll(".chip[data-slogan]").forEach(function (chip) {
      chip.setAttribute("aria-pressed", chip.dataset.slogan === slogan ? "true" : "false");
    });
    loadOutlets(false);
    if (state.origin) findNearest();
  }

  function setCategory(code) {
    state.category = code;
    state.slogan = "";
    document.querySelectorAll(".chip[data-slogan]").forEach(function (chip) {
      chip.setAttribute("aria-pressed", chip.dataset.slogan === "" && !code ? "true" : "false");
    });
    loadOutlets(false);
    if (state.origin) findNearest();
  }

  /* ---------- "what is missing here" (需求清单) ---------- */
  function submitNeed(ev) {
    ev.preventDefault();
    var text = $("need-text").value.trim();
    var status = $("need-status");
    if (!text) { LC.status(status, LC.t("need.empty"), "error"); $("need-text").focus(); return; }
    var body = { text: text };
    var cat = $("need-category").value;
    if (cat) body.category = cat;
    if (state.origin) { body.lon = state.origin.lon; body.lat = state.origin.lat; }
    LC.api("POST", "/api/needs", body).then(function (r) {
      if (r.ok) {
        LC.status(status, LC.t("need.thanks"), "ok");
        $("need-text").value = "";
      } else LC.status(status, r.message, "error");
    });
  }

  /* ---------- start ---------- */
  function init() {
    /* the server's own definition of the slogan shortcuts (falls back to the catalogue) */
    LC.get("/api/slogans").then(function (r) {
      if (!r.ok || !Array.isArray(r.data)) return;
      state.sloganCats = {};
      r.data.forEach(function (x) { state.sloganCats[x.slogan] = x.categories || []; });
    });
    LC.loadCategories().then(function () {
      LC.fillCategorySelect($("category"), "res.all_categories");
      LC.fillCategorySelect($("need-category"), "need.any");
      LC.onLang(function () {
        LC.fillCategorySelect($("category"), "res.all_categories");
        LC.fillCategorySelect($("need-category"), "need.any");
        renderListing(state.outlets);
        if (state.results.length || state.origin) renderNearest(state.nearestOrigin);
        selectResult(state.selected, false);
      });
      return LC.createMap("map");
    }).then(function (made) {
      var map = made.map;
      state.map = map;
      LC.map = map;  /* handle for the browser tests and the console */
      state.cityBounds = LC.cityBounds(made.city);
      layers.area = L.layerGroup().addTo(map);
      layers.outlets = L.layerGroup().addTo(map);
      layers.routes = L.layerGroup().addTo(map);
      layers.origin = L.layerGroup().addTo(map);
      map.on("click", function (ev) { setOrigin(ev.latlng.lat, ev.latlng.lng); });
      /* keyboard: arrows pan, +/- zoom (Leaflet), Enter takes the map centre as the start */
      map.getContainer().addEventListener("keydown", function (ev) {
        if (ev.key !== "Enter" || ev.target !== map.getContainer()) return;
        ev.preventDefault();
        var c = map.getCenter();
        setOrigin(c.lat, c.lng);
      });
      var timer = null;
      map.on("moveend", function () {
        if (state.q) return;
        if (timer) window.clearTimeout(timer);
        timer = window.setTimeout(function () { loadOutlets(false); }, 250);
      });
      loadOutlets(false).then(function () { document.body.dataset.ready = "1"; });
    });

    $("search-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      state.q = $("q").value.trim();
      var match = LC.categories.filter(function (c) {
        return state.q && (c.name_zh === state.q || String(c.name_en).toLowerCase() === state.q.toLowerCase() || c.code === state.q);
      })[0];
      if (match) { state.q = ""; $("q").value = ""; $("category").value = match.code; setCategory(match.code); return; }
      loadOutlets(!!state.q);
    });
    $("q").addEventListener("search", function () {
      if (!$("q").value) { state.q = ""; loadOutlets(false); }
    });
    document.querySelectorAll(".chip[data-slogan]").forEach(function (chip) {
      chip.addEventListener("click", function () { setSlogan(chip.dataset.slogan); });
    });
    $("category").addEventListener("change", function () { setCategory($("category").value); });
    $("locate").addEventListener("click", function () { locate(); });
    $("walk-area").addEventListener("click", function () {
      state.walkArea = !state.walkArea;
      $("walk-area").setAttribute("aria-pressed", state.walkArea ? "true" : "false");
      loadWalkArea();
    });
    document.querySelectorAll("[data-quick]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var code = btn.dataset.quick;
        $("category").value = code;
        setCategory(code);
        if (state.origin) return;
        locate(function (ok) {
          if (!ok) {
            var c = state.map.getCenter();
            setOrigin(c.lat, c.lng);
          }
        });
      });
    });
    $("details-close").addEventListener("click", function () { $("details").hidden = true; });
    $("details-route").addEventListener("click", routeToDetails);
    $("need-form").addEventListener("submit", submitNeed);
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && !$("details").hidden) $("details").hidden = true;
    });
  }

  init();
})();
