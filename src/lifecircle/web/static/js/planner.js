/* Planner dashboard (规划看板): city KPIs, circles coloured by grade, blind spots per 业态,
 * satisfaction, needs (需求清单), the moderation queue, report downloads and scenarios (规划方案:
 * an outlet of one 业态 at a point picked on the map, grades and KPIs before/after). */
(function () {
  "use strict";
  var LC = window.LC;
  var $ = function (id) { return document.getElementById(id); };

  var GRADE_COLORS = { "品质型": "#2e7d32", "提升型": "#1e88e5", "基础型": "#f9a825", "未达标": "#c62828", "待核实": "#9e9e9e" };
  var GRADE_KEYS = { "品质型": "grade.quality", "提升型": "grade.enhanced", "基础型": "grade.basic", "未达标": "grade.none", "待核实": "grade.unverified" };
  var state = { map: null, layers: {}, grades: {}, circles: null, started: false, data: {} };
  var scen = { picking: false, marker: null, detail: null };

  function rows(data, key) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data.features)) return data.features.map(function (f) { return f.properties || {}; });
    if (data && key && Array.isArray(data[key])) return data[key];
    if (data && Array.isArray(data.items)) return data.items;
    if (data && Array.isArray(data.rows)) return data.rows;
    return [];
  }

  function fmtValue(v, unit) {
    if (v === null || v === undefined || v === "") return "—";
    if (typeof v === "number") {
      if (unit === "%" || unit === "share" || unit === "ratio") return (unit === "%" ? v : v * 100).toFixed(1) + "%";
      return Math.abs(v) >= 100 || Number.isInteger(v) ? Math.round(v).toLocaleString() : v.toFixed(2);
    }
    return String(v);
  }

  function label(row, base) {
    if (LC.lang === "en") return row[base + "_en"] || row.label_en || row.name_en || row[base + "_zh"] || row.label_zh || row.key;
    return row[base + "_zh"] || row.label_zh || row.name_zh || row.label || row.key;
  }

  /* ---------- KPIs ---------- */
  /* Headline KPIs (city scope) shown as cards, in this order; the per-业态 coverage goes to a table. */
  var HEADLINE = [
    "circles_total", "circles_basic_or_better", "households_basic_or_better",
    "communities_basic_or_better", "outlets_total", "chain_share", "satisfaction_rate",
    "service_floor_area_per_100hh"
  ];

  function kpiList(data) {
    var list = Array.isArray(data) ? data : rows(data, "kpis");
    return list.map(function (k) {
      return {
        key: k.kpi || k.key, zh: k.kpi_zh || k.label_zh, value: k.value, target: k.target,
        unit: k.unit, meets: k.meets, scope: k.scope || "city"
      };
    }).filter(function (k) { return k.scope === "city"; });
  }

  function kpiLabel(k) {
    var key = "kpi." + k.key;
    if (LC.t(key) !== key) return LC.t(key);
    return LC.lang === "en" ? k.key : (k.zh || k.key);
  }

  function renderKpis(data) {
    var box = $("kpis");
    box.innerHTML = "";
    var list = kpiList(data);
    var byKey = {};
    list.forEach(function (k) { byKey[k.key] = k; });
    var cards = HEADLINE.filter(function (key) { return byKey[key]; }).map(function (key) { return byKey[key]; });
    if (!cards.length) cards = list.filter(function (k) { return String(k.key).indexOf(":") < 0; }).slice(0, 8);
    cards.forEach(function (k) {
      var card = LC.el("div", { class: "kpi" + (k.meets === false ? " kpi-miss" : k.meets === true ? " kpi-meet" : ""), "data-kpi": k.key }, [
        LC.el("span", { class: "kpi-value", text: fmtValue(k.value, k.unit) }),
        LC.el("span", { class: "kpi-label", text: kpiLabel(k) })
      ]);
      if (k.target !== undefined && k.target !== null) {
        card.appendChild(LC.el("span", { class: "kpi-target", text: LC.t("pl.target", { v: fmtValue(k.target, k.unit) }) }));
      }
      box.appendChild(card);
    });
    renderCoverage(list);
  }

  /* Share of households with each 业态 within its walking band (households_covered:<code>). */
  function renderCoverage(list) {
    var table = $("coverage-table");
    table.innerHTML = "";
    var prefix = "households_covered:";
    var covered = list.filter(function (k) { return String(k.key).indexOf(prefix) === 0; });
    if (!covered.length) { table.appendChild(LC.el("caption", { text: LC.t("pl.no_data") })); return; }
    table.appendChild(LC.el("thead", null, [LC.el("tr", null, [
      LC.el("th", { scope: "col", text: LC.t("pl.col_category") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_class") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_covered") }),
      LC.el("th", { scope: "col", class: "bar-col", "aria-hidden": "true" })
    ])]));
    var body = LC.el("tbody");
    covered.sort(function (a, b) { return (a.value === null ? 2 : a.value) - (b.value === null ? 2 : b.value); });
    covered.forEach(function (k) {
      var code = k.key.slice(prefix.length);
      var cat = LC.categoryByCode[code] || {};
      var pct = typeof k.value === "number" ? Math.max(0, Math.min(1, k.value)) * 100 : 0;
      body.appendChild(LC.el("tr", { "data-category": code }, [
        LC.el("th", { scope: "row" }, [LC.el("button", {
          type: "button", class: "linklike", text: LC.catName(code),
          onclick: function () { $("blind-category").value = code; loadBlindSpots(); $("dash-map").scrollIntoView({ block: "center" }); }
        })]),
        LC.el("td", { class: "small nowrap", text: cat["class"] ? LC.t("class_short." + cat["class"]) : "" }),
        LC.el("td", { class: "num", text: fmtValue(k.value, "share") }),
        LC.el("td", { class: "bar-col", "aria-hidden": "true" }, [
          LC.el("span", { class: "bar", style: "width:" + pct.toFixed(1) + "%" })
        ])
      ]));
    });
    table.appendChild(body);
  }

  /* ---------- grades and circles ---------- */
  function gradeOf(id) {
    var g = state.grades[String(id)];
    return g ? g.grade : undefined;
  }

  function drawCircles() {
    var layer = state.layers.circles;
    layer.clearLayers();
    if (!state.circles) return;
    var geo = L.geoJSON(state.circles, {
      style: function (f) {
        var grade = f.properties.grade || gradeOf(f.properties.circle_id || f.id);
        var color = GRADE_COLORS[grade] || "#757575";
        return { color: color, weight: 2, fillColor: color, fillOpacity: 0.28, className: "lc-circle" };
      },
      pointToLayer: function (f, ll) {
        var grade = f.properties.grade || gradeOf(f.properties.circle_id || f.id);
        var color = GRADE_COLORS[grade] || "#757575";
        return L.circleMarker(ll, { radius: 9, color: "#fff", weight: 2, fillColor: color, fillOpacity: 0.9, className: "lc-circle" });
      },
      onEachFeature: function (f, lyr) {
        var p = f.properties || {};
        var id = p.circle_id || f.id;
        var grade = p.grade || gradeOf(id) || "";
        lyr.bindTooltip(LC.tipText((p.name || id) + " · " + (GRADE_KEYS[grade] ? LC.t(GRADE_KEYS[grade]) : grade)));
        lyr.on("click", function () {
          if (scen.picking) return;  /* the map's own click handler places the point */
          window.location.assign("/survey/" + encodeURIComponent(id));
        });
      }
    }).addTo(layer);
    if (!state.fitted && geo.getBounds().isValid()) {
      state.map.fitBounds(geo.getBounds().pad(0.05));
      state.fitted = true;
    }
  }

  function renderGradeLegend() {
    var box = $("grade-legend");
    box.innerHTML = "";
    Object.keys(GRADE_COLORS).forEach(function (g) {
      box.appendChild(LC.el("span", { class: "sw", style: "background:" + GRADE_COLORS[g] }));
      var n = state.gradeCounts ? state.gradeCounts[g] : undefined;
      box.appendChild(LC.el("span", { text: LC.t(GRADE_KEYS[g]) + (n !== undefined ? " " + n : "") }));
    });
    box.appendChild(LC.el("span", { class: "sw sw-blind" }));
    box.appendChild(LC.el("span", { text: LC.t("pl.blind_legend") }));
  }

  function renderGradeTable(list) {
    var table = $("grade-table");
    table.innerHTML = "";
    table.appendChild(LC.el("caption", { class: "sr-only", text: LC.t("pl.circles") }));
    table.appendChild(LC.el("thead", null, [LC.el("tr", null, [
      LC.el("th", { scope: "col", text: LC.t("pl.col_circle") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_grade") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_households") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_missing") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_survey") })
    ])]));
    var body = LC.el("tbody");
    list.forEach(function (g) {
      var id = g.circle_id || g.id;
      var missing = LC.lang === "en" ? (g.missing_for_next_grade_en || g.missing_for_next_grade) : g.missing_for_next_grade;
      body.appendChild(LC.el("tr", null, [
        LC.el("th", { scope: "row", text: g.name || String(id) }),
        LC.el("td", null, [LC.el("span", {
          class: "grade-pill", style: "background:" + (GRADE_COLORS[g.grade] || "#757575"),
          text: GRADE_KEYS[g.grade] ? LC.t(GRADE_KEYS[g.grade]) : (g.grade || "")
        })]),
        LC.el("td", { class: "num", text: typeof g.households === "number" ? Math.round(g.households).toLocaleString() : "—" }),
        LC.el("td", { class: "small", text: missing || "" }),
        LC.el("td", { class: "nowrap" }, [
          LC.el("a", { href: "/survey/" + encodeURIComponent(id), text: LC.t("pl.open_survey") }), " · ",
          LC.el("a", { href: "/survey/" + encodeURIComponent(id) + "/poster", class: "poster-link", text: LC.t("pl.poster") })
        ])
      ]));
    });
    table.appendChild(body);
  }

  /* ---------- blind spots per 业态 ---------- */
  function loadBlindSpots() {
    var cat = $("blind-category").value;
    state.layers.blind.clearLayers();
    if (!cat) { $("blind-summary").textContent = ""; return Promise.resolve(); }
    return LC.get("/api/dashboard/blind-spots" + LC.query({ category: cat })).then(function (r) {
      if (!r.ok) { $("blind-summary").textContent = r.message; return; }
      var data = r.data || {};
      var fc = data.type === "FeatureCollection" ? data : (data.features ? data : data.geojson);
      var n = 0;
      if (fc && fc.features) {
        n = fc.features.length;
        L.geoJSON(fc, {
          pointToLayer: function (f, ll) {
            return L.circleMarker(ll, { radius: 5, color: "#b71c1c", weight: 1, fillColor: "#ef5350", fillOpacity: 0.85, className: "lc-blind" });
          },
          style: function () { return { color: "#b71c1c", weight: 1.5, fillColor: "#ef5350", fillOpacity: 0.35, className: "lc-blind" }; },
          onEachFeature: function (f, lyr) {
            var p = f.properties || {};
            var text = p.name || p.residence_name || "";
            if (p.distance_m !== undefined) text += (text ? " · " : "") + LC.fmtDistance(p.distance_m);
            if (text) lyr.bindTooltip(LC.tipText(text));
          }
        }).addTo(state.layers.blind);
      }
      var count = data.count !== undefined ? data.count : n;
      $("blind-summary").textContent = LC.t("pl.blind_count", { n: count, cat: LC.catName(cat) }) +
        (data.households !== undefined ? " · " + LC.t("pl.blind_households", { n: fmtValue(data.households) }) : "");
    });
  }

  /* ---------- satisfaction, needs ---------- */
  function renderSatisfaction(data) {
    var table = $("sat-table");
    table.innerHTML = "";
    var list = rows(data, "circles");
    if (!list.length) { table.appendChild(LC.el("caption", { text: LC.t("pl.no_data") })); return; }
    table.appendChild(LC.el("thead", null, [LC.el("tr", null, [
      LC.el("th", { scope: "col", text: LC.t("pl.col_circle") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_rate") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_responses") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_duplicates"), title: LC.t("pl.duplicates_title") })
    ])]));
    var dupes = (data && data.duplicates) || {};
    var body = LC.el("tbody");
    list.forEach(function (s) {
      var rate = s.rate !== undefined ? s.rate : s.satisfaction_rate;
      var id = String(s.circle_id || "");
      var name = id === "city" ? LC.t("pl.whole_city") : (s.name || s.circle_name || (state.grades[id] || {}).name || id);
      body.appendChild(LC.el("tr", { class: s.below_target ? "below" : "" }, [
        LC.el("th", { scope: "row", text: name }),
        LC.el("td", { class: "num", text: rate === null || rate === undefined ? "—" : (rate * 100).toFixed(1) + "%" }),
        LC.el("td", { class: "num", text: fmtValue(s.n_valid !== undefined ? s.n_valid : s.n) }),
        LC.el("td", { class: "num sat-duplicates", text: String(id === "city" ? (data.duplicates_total || 0) : (dupes[id] || 0)) })
      ]));
    });
    table.appendChild(body);
  }

  /* ---------- data audit (数据体检) and districts ---------- */
  var AUDIT_STATUS = { ok: "pl.audit_ok", warn: "pl.audit_warn", fail: "pl.audit_fail" };

  function renderAudit(data) {
    var table = $("audit-table");
    table.innerHTML = "";
    var counts = (data && data.counts) || {};
    $("audit-summary").textContent = LC.t("pl.audit_counts", {
      ok: counts.ok || 0, warn: counts.warn || 0, fail: counts.fail || 0
    });
    var f = (data && data.figures) || {};
    $("audit-figures").textContent = f.residences_assessed === undefined ? "" : LC.t("pl.audit_figures", {
      res: fmtValue(f.residences_assessed), read: fmtValue(f.residences_read),
      hh: fmtValue(f.households_assessed), known: fmtValue(f.households_known),
      est: fmtValue(f.households_estimated), outlets: fmtValue(f.outlets_assessed)
    });
    var items = ((data && data.items) || []).filter(function (i) { return i.status !== "ok"; });
    if (!items.length) { table.appendChild(LC.el("caption", { text: LC.t("pl.audit_all_ok") })); return; }
    table.appendChild(LC.el("thead", null, [LC.el("tr", null, [
      LC.el("th", { scope: "col", text: LC.t("pl.audit_status") }),
      LC.el("th", { scope: "col", text: LC.t("pl.audit_check") }),
      LC.el("th", { scope: "col", text: LC.t("pl.audit_message") })
    ])]));
    var body = LC.el("tbody");
    items.forEach(function (i) {
      var message = LC.lang === "en" ? (i.message_en || i.message) : (i.message || i.message_en);
      body.appendChild(LC.el("tr", { class: "audit-" + i.status }, [
        LC.el("td", { text: LC.t(AUDIT_STATUS[i.status] || "pl.audit_warn") }),
        LC.el("td", { text: String(i.check || "") }),
        LC.el("td", { text: String(message || "") })
      ]));
    });
    table.appendChild(body);
  }

  function drawDistricts() {
    var layer = state.layers.districts;
    if (!layer) return;
    layer.clearLayers();
    var fc = state.districtAreas;
    if (!fc || !fc.features || !fc.features.length) return;
    L.geoJSON(fc, {
      style: function () {
        return { color: "#37474f", weight: 2, dashArray: "6 4", fill: false, interactive: true, className: "lc-district" };
      },
      onEachFeature: function (f, lyr) {
        var p = f.properties || {};
        var share = p.households_basic_or_better;
        var text = String(p.level || "") + " " + String(p.name || "") + " · " + LC.t("pl.col_hh_basic") + " " +
          (share === null || share === undefined ? "—" : (share * 100).toFixed(1) + "%");
        lyr.bindTooltip(LC.tipText(text), { sticky: true });
      }
    }).addTo(layer);
  }

  function renderDistricts(list) {
    var table = $("district-table");
    table.innerHTML = "";
    $("districts-card").hidden = !list.length;
    if (!list.length) return;
    var grades = [["circles:quality", "grade.quality"], ["circles:enhanced", "grade.enhanced"],
      ["circles:basic", "grade.basic"], ["circles:not graded", "grade.none"],
      ["circles:unverified", "grade.unverified"]];
    var head = [LC.el("th", { scope: "col", text: LC.t("pl.district") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_circles") })];
    grades.forEach(function (g) { head.push(LC.el("th", { scope: "col", text: LC.t(g[1]) })); });
    head.push(LC.el("th", { scope: "col", text: LC.t("pl.col_hh_basic") }));
    table.appendChild(LC.el("thead", null, [LC.el("tr", null, head)]));
    var body = LC.el("tbody");
    list.forEach(function (d) {
      var cells = [LC.el("th", { scope: "row", text: String(d.level || "") + " " + String(d.district || "") }),
        LC.el("td", { class: "num", text: fmtValue(d.circles_total) })];
      grades.forEach(function (g) { cells.push(LC.el("td", { class: "num", text: fmtValue(d[g[0]]) })); });
      var share = d.households_basic_or_better;
      cells.push(LC.el("td", { class: "num", text: share === null || share === undefined ? "—" : (share * 100).toFixed(1) + "%" }));
      body.appendChild(LC.el("tr", null, cells));
    });
    table.appendChild(body);
  }

  function renderNeeds(data) {
    var table = $("needs-table");
    table.innerHTML = "";
    var list = rows(data, "needs");
    var summary = $("needs-summary");
    var top = (data && data.by_category) || [];
    summary.textContent = top.length ? LC.t("pl.needs_top", {
      n: data.total, list: top.slice(0, 4).map(function (c) {
        return (c.category ? LC.catName(c.category, c.category_zh) : LC.t("pl.other")) + " " + c.count;
      }).join("、")
    }) : "";
    if (!list.length) { table.appendChild(LC.el("caption", { text: LC.t("pl.no_needs") })); return; }
    table.appendChild(LC.el("thead", null, [LC.el("tr", null, [
      LC.el("th", { scope: "col", text: LC.t("pl.col_category") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_text") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_circle") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_date") })
    ])]));
    var body = LC.el("tbody");
    list.forEach(function (n) {
      var cat = n.category ? LC.catName(n.category, n.category_zh) : "";
      body.appendChild(LC.el("tr", null, [
        LC.el("td", { text: cat || (n.count !== undefined ? "" : "—") }),
        LC.el("td", { text: n.text || (n.count !== undefined ? LC.t("pl.n_requests", { n: n.count }) : "") }),
        LC.el("td", { text: n.circle_name || ((state.grades[String(n.circle_id)] || {}).name) || n.circle_id || "" }),
        LC.el("td", { text: LC.fmtDate(n.created_at) })
      ]));
    });
    table.appendChild(body);
  }

  /* ---------- moderation ---------- */
  function describe(item) {
    var p = item.payload || item.data || item.outlet || item.post || {};
    var kind = item.kind === "outlet" && item.action ? "outlet_" + item.action : (item.kind || (p.title ? "board" : "outlet"));
    var title = p.name || p.title || item.name || item.title || "";
    var bits = [];
    if (p.category) bits.push(LC.catName(p.category));
    if (p.kind) bits.push(LC.t("board.kind." + p.kind));
    if (p.opening_hours) bits.push(p.opening_hours);
    var svc = LC.services(p.services);
    if (svc.length) bits.push(svc.join("、"));
    if (p.body) bits.push(String(p.body).slice(0, 80));
    var who = item.author || item.submitted_by || item.username;
    if (who) bits.push(LC.t("pl.by", { user: who }));
    if (item.created_at) bits.push(LC.fmtDate(item.created_at));
    return { kind: kind, title: title, detail: bits.join(" · ") };
  }

  function loadModeration() {
    return LC.get("/api/moderation" + LC.query({ status: "pending" })).then(function (r) {
      var list = $("moderation");
      list.innerHTML = "";
      if (!r.ok) { list.appendChild(LC.el("li", { class: "empty", text: r.message })); return; }
      var items = rows(r.data, "items");
      $("mod-count").textContent = String(items.length);
      if (!items.length) { list.appendChild(LC.el("li", { class: "empty", text: LC.t("pl.queue_empty") })); return; }
      items.forEach(function (item) {
        var d = describe(item);
        var statusEl = LC.el("p", { class: "form-status", hidden: true });
        var li = LC.el("li", { class: "sub", "data-id": String(item.id), "data-name": d.title }, [
          LC.el("div", { class: "sub-head" }, [
            LC.el("strong", { text: d.title }),
            LC.el("span", { class: "badge", text: LC.t("pl.kind." + d.kind) !== "pl.kind." + d.kind ? LC.t("pl.kind." + d.kind) : d.kind })
          ]),
          LC.el("div", { class: "fine", text: d.detail }),
          LC.el("div", { class: "row" }, [
            LC.el("button", {
              type: "button", class: "btn btn-small btn-ok", "data-action": "approve",
              "aria-label": LC.t("pl.approve") + " " + d.title, text: LC.t("pl.approve"),
              onclick: function () { decide(item, "approve", statusEl); }
            }),
            LC.el("button", {
              type: "button", class: "btn btn-small btn-danger", "data-action": "reject",
              "aria-label": LC.t("pl.reject") + " " + d.title, text: LC.t("pl.reject"),
              onclick: function () { decide(item, "reject", statusEl); }
            })
          ]),
          statusEl
        ]);
        list.appendChild(li);
      });
    });
  }

  function decide(item, action, statusEl) {
    var body = {};
    if (action === "reject") {
      var reason = window.prompt(LC.t("pl.reject_reason"), "");
      if (reason === null) return;
      reason = reason.trim();
      if (!reason) { LC.status(statusEl, LC.t("pl.reason_needed"), "error"); return; }
      body.reason = reason;
    }
    LC.api("POST", "/api/moderation/" + encodeURIComponent(item.id) + "/" + action, body).then(function (r) {
      if (!r.ok) { LC.status(statusEl, r.message, "error"); return; }
      LC.toast(LC.t(action === "approve" ? "pl.approved" : "pl.rejected", { name: describe(item).title }), "ok");
      loadModeration();
      if (action === "approve") { loadKpis(); loadBlindSpots(); }
    });
  }

  /* ---------- reports, scenarios ---------- */
  var DEFAULT_REPORTS = ["report.html", "report.pdf", "report.xlsx"];
  function renderReports(data) {
    var list = $("reports");
    list.innerHTML = "";
    var names = rows(data, "reports");
    if (!names.length) names = DEFAULT_REPORTS.map(function (n) { return { name: n }; });
    names.forEach(function (rep) {
      var name = typeof rep === "string" ? rep : (rep.name || rep.file);
      var url = (typeof rep === "object" && rep.url) || "/api/reports/" + encodeURIComponent(name);
      var ext = String(name).split(".").pop().toUpperCase();
      var text = (typeof rep === "object" && (LC.lang === "en" ? rep.title_en : rep.title_zh)) || name;
      list.appendChild(LC.el("li", null, [
        LC.el("a", { href: url, download: name, class: "btn btn-small" }, [
          LC.el("span", { class: "ext", text: ext }), " " + text
        ])
      ]));
    });
  }

  /* ---------- scenarios (规划方案): open an outlet of one 业态 at a point or close one, before/after ---------- */
  function scenKpiLabel(kpi, kpiZh) {
    var prefix = "households_covered:";
    if (String(kpi).indexOf(prefix) === 0) {
      if (LC.lang !== "en" && kpiZh) return kpiZh;  /* names the walking band, e.g. 步行10分钟 */
      return LC.t("pl.scen_covered", { cat: LC.catName(kpi.slice(prefix.length)) });
    }
    return kpiLabel({ key: kpi, zh: kpiZh });
  }

  function gradeText(g) { return GRADE_KEYS[g] ? LC.t(GRADE_KEYS[g]) : (g || "—"); }

  function renderScenarios(data) {
    var list = rows(data, "scenarios");
    var table = $("scen-table");
    table.innerHTML = "";
    if (!list.length) { table.appendChild(LC.el("caption", { text: LC.t("pl.no_scenarios") })); return; }
    table.appendChild(LC.el("thead", null, [LC.el("tr", null, [
      LC.el("th", { scope: "col", text: LC.t("pl.col_scenario") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_before") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_after") }),
      LC.el("th", { scope: "col", text: LC.t("pl.col_circles_basic") }),
      LC.el("th", { scope: "col", class: "sr-only", text: LC.t("pl.scen_delete") })
    ])]));
    var body = LC.el("tbody");
    list.forEach(function (s) {
      var name = s.name || s.title || String(s.id);
      var head = [LC.el("button", {
        type: "button", class: "linklike", text: name, "aria-label": LC.t("pl.scen_show", { name: name }),
        onclick: function () { openScenario(s.id); }
      })];
      if (s.stale) head.push(" ", LC.el("span", { class: "badge badge-pending", title: LC.t("pl.scen_stale_title"), text: LC.t("pl.scen_stale") }));
      if (s.kpi) head.push(LC.el("div", { class: "small", text: scenKpiLabel(s.kpi, s.kpi_zh) }));
      var basic = s.circles_basic_before !== undefined ? s.circles_basic_before + " → " + s.circles_basic_after : "";
      body.appendChild(LC.el("tr", { "data-scenario": name }, [
        LC.el("th", { scope: "row" }, head),
        LC.el("td", { class: "num", text: fmtValue(s.before !== undefined ? s.before : s.coverage_before, s.unit) }),
        LC.el("td", { class: "num", text: fmtValue(s.after !== undefined ? s.after : s.coverage_after, s.unit) }),
        LC.el("td", { class: "num", text: basic }),
        LC.el("td", { class: "nowrap" }, s.id === undefined ? [] : [
          s.stale ? LC.el("button", {
            type: "button", class: "btn btn-small scen-recompute", text: LC.t("pl.scen_recompute"),
            "aria-label": LC.t("pl.scen_recompute") + " " + name,
            onclick: function (ev) { recomputeScenario(s.id, name, ev.currentTarget); }
          }) : null,
          LC.el("button", {
            type: "button", class: "btn btn-small btn-danger", text: LC.t("pl.scen_delete"),
            "aria-label": LC.t("pl.scen_delete") + " " + name,
            onclick: function () { deleteScenario(s.id, name); }
          })
        ])
      ]));
    });
    table.appendChild(body);
  }

  function changeText(ch) {
    var at = { lon: Number(ch.lon).toFixed(5), lat: Number(ch.lat).toFixed(5) };
    if (ch.op === "add_outlet") return LC.t("pl.scen_ch_add", { cat: LC.catName(ch.category), lon: at.lon, lat: at.lat });
    if (ch.op === "remove_outlet") return LC.t("pl.scen_ch_remove", { id: ch.outlet_id });
    if (ch.op === "move_outlet") return LC.t("pl.scen_ch_move", { id: ch.outlet_id, lon: at.lon, lat: at.lat });
    return LC.t("pl.scen_ch_close", { street: ch.street || LC.t("pl.scen_unnamed_street"), edge: ch.edge });
  }

  /* the shown scenario's changes on the map: closed streets in red, opened or moved outlets */
  function drawScenarioChanges(d) {
    var layer = state.layers.scen;
    if (!layer) return;
    layer.clearLayers();
    ((d && d.changes) || []).forEach(function (ch) {
      var text = changeText(ch);
      if (ch.op === "close_edge" && ch.line) {
        L.polyline(ch.line.map(function (p) { return [p[1], p[0]]; }),
          { color: "#c62828", weight: 7, opacity: 0.85, dashArray: "8 6", className: "scen-closed" })
          .bindTooltip(LC.tipText(text)).addTo(layer);
      } else if ((ch.op === "add_outlet" || ch.op === "move_outlet") && isFinite(ch.lat) && isFinite(ch.lon)) {
        L.circleMarker([ch.lat, ch.lon], { radius: 8, color: "#fff", weight: 2, fillColor: "#6a1b9a", fillOpacity: 0.95, className: "scen-outlet" })
          .bindTooltip(LC.tipText(text)).addTo(layer);
      }
    });
  }

  function renderScenarioDetail(d) {
    var box = $("scen-detail");
    box.innerHTML = "";
    scen.detail = d;
    drawScenarioChanges(d);
    if (!d) { box.hidden = true; return; }
    box.hidden = false;
    box.appendChild(LC.el("h3", { text: d.name }));
    box.appendChild(LC.el("p", { class: "fine", text: LC.t("pl.scen_changes") }));
    box.appendChild(LC.el("ul", { class: "scen-changes small" }, (d.changes || []).map(function (ch) {
      return LC.el("li", { text: changeText(ch) });
    })));
    box.appendChild(LC.el("p", { class: "fine", text: scenKpiLabel(d.kpi, d.kpi_zh) + ": " +
      fmtValue(d.before, d.unit) + " → " + fmtValue(d.after, d.unit) }));
    var moved = (d.circles || []).filter(function (c) { return c.grade_changed || c.coverage_changes; });
    if (!moved.length) {
      box.appendChild(LC.el("p", { class: "fine", text: LC.t("pl.scen_no_change") }));
    } else {
      var table = LC.el("table", { class: "table" }, [
        LC.el("caption", { text: LC.t("pl.scen_circles") }),
        LC.el("thead", null, [LC.el("tr", null, [
          LC.el("th", { scope: "col", text: LC.t("pl.col_circle") }),
          LC.el("th", { scope: "col", text: LC.t("pl.col_grade") }),
          LC.el("th", { scope: "col", text: LC.t("pl.scen_col_coverage") })
        ])])
      ]);
      var body = LC.el("tbody");
      moved.forEach(function (c) {
        body.appendChild(LC.el("tr", { class: c.grade_changed ? "changed" : "" }, [
          LC.el("th", { scope: "row", text: c.name || c.circle_id }),
          LC.el("td", { class: "nowrap", text: gradeText(c.grade_before) + " → " + gradeText(c.grade_after) }),
          LC.el("td", { class: "small", text: c.coverage_changes || "" })
        ]));
      });
      table.appendChild(body);
      box.appendChild(LC.el("div", { class: "table-wrap" }, [table]));
    }
    var kpis = (d.kpis || []).filter(function (k) { return String(k.kpi).indexOf("communities_covered:") !== 0; });
    if (kpis.length) {
      var kt = LC.el("table", { class: "table" }, [
        LC.el("caption", { text: LC.t("pl.scen_kpis") }),
        LC.el("thead", null, [LC.el("tr", null, [
          LC.el("th", { scope: "col", text: LC.t("pl.col_indicator") }),
          LC.el("th", { scope: "col", text: LC.t("pl.col_before") }),
          LC.el("th", { scope: "col", text: LC.t("pl.col_after") })
        ])])
      ]);
      var kb = LC.el("tbody");
      kpis.forEach(function (k) {
        kb.appendChild(LC.el("tr", null, [
          LC.el("th", { scope: "row", text: scenKpiLabel(k.kpi, k.kpi_zh) }),
          LC.el("td", { class: "num", text: fmtValue(k.before, k.unit) }),
          LC.el("td", { class: "num", text: fmtValue(k.after, k.unit) })
        ]));
      });
      kt.appendChild(kb);
      box.appendChild(LC.el("div", { class: "table-wrap" }, [kt]));
    }
  }

  function loadScenarios() {
    return LC.get("/api/scenarios").then(function (r) {
      if (r.ok) { state.data.scen = r.data; renderScenarios(r.data); }
      else LC.status($("scen-status"), r.message, "error");
    });
  }

  function openScenario(id) {
    return LC.get("/api/scenarios/" + encodeURIComponent(id)).then(function (r) {
      if (!r.ok) { LC.status($("scen-status"), r.message, "error"); return; }
      renderScenarioDetail(r.data);
      $("scen-detail").scrollIntoView({ block: "nearest" });
    });
  }

  function recomputeScenario(id, name, button) {
    button.disabled = true;
    LC.status($("scen-status"), LC.t("pl.scen_running"), "info");
    return LC.api("POST", "/api/scenarios/" + encodeURIComponent(id) + "/recompute").then(function (r) {
      button.disabled = false;
      if (!r.ok) { LC.status($("scen-status"), r.message, "error"); return; }
      LC.status($("scen-status"), LC.t("pl.scen_recomputed", { name: name }), "ok");
      renderScenarioDetail(r.data);
      loadScenarios();
    });
  }

  function deleteScenario(id, name) {
    if (!window.confirm(LC.t("pl.scen_delete_confirm", { name: name }))) return;
    LC.api("DELETE", "/api/scenarios/" + encodeURIComponent(id)).then(function (r) {
      if (!r.ok) { LC.status($("scen-status"), r.message, "error"); return; }
      LC.toast(LC.t("pl.scen_deleted", { name: name }), "ok");
      if (scen.detail && scen.detail.id === id) renderScenarioDetail(null);
      loadScenarios();
    });
  }

  function setPicking(on) {
    scen.picking = !!on;
    $("scen-pick").setAttribute("aria-pressed", scen.picking ? "true" : "false");
    if (state.map) state.map.getContainer().classList.toggle("picking", scen.picking);
    if (scen.picking) {
      var hint = { remove_outlet: "pl.scen_picking_outlet", close_edge: "pl.scen_picking_street" }[scenOp()];
      LC.status($("scen-status"), LC.t(hint || "pl.scen_picking"), "info");
      $("dash-map").scrollIntoView({ block: "center" });
    }
  }

  function setScenPoint(lat, lon, pan) {
    $("scen-lat").value = lat.toFixed(6);
    $("scen-lon").value = lon.toFixed(6);
    if (!state.map) return;
    var label = LC.t(scenOp() === "close_edge" ? "pl.scen_street_marker" : "pl.scen_marker");
    scen.marker = LC.placeMarker(state.map, scen.marker, lat, lon, label, setScenPoint);
    if (pan) state.map.panTo([lat, lon]);
  }

  function scenOp() { return $("scen-op").value; }

  function setScenOp() {
    var remove = scenOp() === "remove_outlet";
    $("scen-add").hidden = scenOp() !== "add_outlet";
    $("scen-coords").hidden = remove;
    $("scen-remove").hidden = !remove;
    if (scen.marker && state.map) { state.map.removeLayer(scen.marker); scen.marker = null; }
  }

  /* the outlet nearest to a map click (within about 200 m), for "close an outlet" */
  function pickOutletNear(lat, lon) {
    var d = 0.002;
    var bbox = [lon - 2 * d, lat - d, lon + 2 * d, lat + d].map(function (v) { return v.toFixed(6); }).join(",");
    return LC.get("/api/outlets?limit=500&bbox=" + bbox).then(function (r) {
      var best = null;
      var bestD = Infinity;
      ((r.ok && r.data && r.data.features) || []).forEach(function (f) {
        var c = f.geometry.coordinates;
        var dd = Math.pow((c[0] - lon) * Math.cos(lat * Math.PI / 180), 2) + Math.pow(c[1] - lat, 2);
        if (dd < bestD) { bestD = dd; best = f; }
      });
      if (!best) { LC.status($("scen-status"), LC.t("pl.scen_no_outlet_near"), "error"); return; }
      var p = best.properties;
      $("scen-outlet").value = best.id;
      $("scen-outlet-name").textContent = (p.name || best.id) + " · " + LC.catName(p.category) + " · " + best.id;
      var c = best.geometry.coordinates;
      scen.marker = LC.placeMarker(state.map, scen.marker, c[1], c[0], p.name || best.id, pickOutletNear);
      LC.status($("scen-status"), "", "info");
    });
  }

  function scenPointFromInputs() {
    var lat = parseFloat($("scen-lat").value);
    var lon = parseFloat($("scen-lon").value);
    if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) setScenPoint(lat, lon, true);
  }

  function submitScenario(ev) {
    ev.preventDefault();
    var status = $("scen-status");
    var name = $("scen-name").value.trim();
    var change;
    if (scenOp() === "remove_outlet") {
      var outletId = $("scen-outlet").value.trim();
      if (!name || !outletId) {
        LC.status(status, LC.t("pl.scen_missing_outlet"), "error");
        (!name ? $("scen-name") : $("scen-outlet")).focus();
        return;
      }
      change = { op: "remove_outlet", outlet_id: outletId };
    }
    var category = $("scen-category").value;
    var lon = parseFloat($("scen-lon").value);
    var lat = parseFloat($("scen-lat").value);
    if (scenOp() === "close_edge") {
      if (!name || !isFinite(lon) || !isFinite(lat)) {
        LC.status(status, LC.t("pl.scen_missing_street"), "error");
        (!name ? $("scen-name") : $("scen-pick")).focus();
        return;
      }
      change = { op: "close_edge", lon: lon, lat: lat };  /* the server takes the nearest street */
    }
    if (!change && (!name || !category || !isFinite(lon) || !isFinite(lat))) {
      LC.status(status, LC.t("pl.scen_missing"), "error");
      (!name ? $("scen-name") : !category ? $("scen-category") : $("scen-pick")).focus();
      return;
    }
    var button = $("scen-run");
    button.disabled = true;
    setPicking(false);
    LC.status(status, LC.t("pl.scen_running"), "info");
    var body = { name: name, changes: [change || { op: "add_outlet", category: category, lon: lon, lat: lat }] };
    LC.api("POST", "/api/scenarios", body).then(function (r) {
      button.disabled = false;
      if (!r.ok) { LC.status(status, r.message, "error"); return; }
      LC.status(status, LC.t("pl.scen_saved", { name: name }), "ok");
      $("scen-name").value = "";
      renderScenarioDetail(r.data);
      loadScenarios();
    });
  }

  /* ---------- loading ---------- */
  function loadKpis() {
    return LC.get("/api/dashboard/kpis").then(function (r) {
      state.data.kpis = r.ok ? r.data : null;
      if (r.ok) renderKpis(r.data);
      else $("kpis").textContent = r.message;
    });
  }

  function loadAll() {
    var jobs = [loadKpis(), loadModeration()];
    jobs.push(Promise.all([LC.get("/api/dashboard/grades"), LC.get("/api/dashboard/circles")]).then(function (answers) {
      var g = answers[0];
      var c = answers[1];
      var list = g.ok ? rows(g.data, "circles") : [];
      state.gradeCounts = {};
      ((g.ok && g.data && g.data.counts) || []).forEach(function (c) { state.gradeCounts[c.grade] = c.circles; });
      renderGradeLegend();
      state.data.grades = list;
      state.grades = {};
      list.forEach(function (row) { state.grades[String(row.circle_id || row.id)] = row; });
      renderGradeTable(list);
      if (c.ok && c.data && c.data.type === "FeatureCollection") state.circles = c.data;
      else if (g.ok && g.data && g.data.type === "FeatureCollection") state.circles = g.data;
      drawCircles();
    }));
    jobs.push(LC.get("/api/dashboard/audit").then(function (r) {
      state.data.audit = r.ok ? r.data : null;
      renderAudit(r.ok ? r.data : {});
    }));
    jobs.push(LC.get("/api/dashboard/district-areas").then(function (r) {
      state.districtAreas = r.ok ? r.data : null;
      drawDistricts();
    }));
    jobs.push(LC.get("/api/dashboard/districts").then(function (r) {
      state.data.districts = r.ok ? r.data : [];
      renderDistricts(r.ok ? r.data : []);
    }));
    jobs.push(LC.get("/api/dashboard/satisfaction").then(function (r) {
      state.data.sat = r.ok ? r.data : null;
      renderSatisfaction(r.ok ? r.data : []);
    }));
    jobs.push(LC.get("/api/dashboard/needs").then(function (r) {
      state.data.needs = r.ok ? r.data : null;
      renderNeeds(r.ok ? r.data : []);
    }));
    jobs.push(LC.get("/api/reports").then(function (r) {
      state.data.reports = r.ok ? r.data : null;
      renderReports(r.ok ? r.data : []);
    }));
    jobs.push(loadScenarios());
    return Promise.all(jobs);
  }

  function rerender() {
    renderGradeLegend();
    if (state.data.kpis) renderKpis(state.data.kpis);
    if (state.data.grades) { renderGradeTable(state.data.grades); drawCircles(); }
    if (state.data.audit) renderAudit(state.data.audit);
    if (state.data.districts) renderDistricts(state.data.districts);
    if (state.data.sat) renderSatisfaction(state.data.sat);
    if (state.data.needs) renderNeeds(state.data.needs);
    if (state.data.reports) renderReports(state.data.reports);
    if (state.data.scen) renderScenarios(state.data.scen);
    if (scen.detail) renderScenarioDetail(scen.detail);
    if (LC.categories.length) {
      LC.fillCategorySelect($("blind-category"), "pl.choose_category");
      LC.fillCategorySelect($("scen-category"), "pl.scen_choose_category");
    }
    if (!$("dash").hidden) loadModeration();
  }

  /* ---------- session ---------- */
  function showLogin() {
    $("login-area").hidden = false;
    $("dash").hidden = true;
    $("wrong-role").hidden = true;
    LC.showUserbar(null);
  }

  function start(user) {
    if (!user) { showLogin(); return; }
    LC.showUserbar(user, showLogin);
    $("login-area").hidden = true;
    if (user.role !== "planner" && user.role !== "admin") {
      $("wrong-role").hidden = false;
      $("dash").hidden = true;
      return;
    }
    $("wrong-role").hidden = true;
    $("dash").hidden = false;
    if (state.started) { loadAll(); return; }
    state.started = true;
    renderGradeLegend();
    LC.loadCategories().then(function () {
      LC.fillCategorySelect($("blind-category"), "pl.choose_category");
      LC.fillCategorySelect($("scen-category"), "pl.scen_choose_category");
      return LC.createMap("dash-map", { zoom: 14 });
    }).then(function (made) {
      state.map = made.map;
      LC.map = made.map;  /* handle for the browser tests and the console */
      made.map.on("click", function (ev) {
        if (!scen.picking) return;
        if (scenOp() === "remove_outlet") pickOutletNear(ev.latlng.lat, ev.latlng.lng);
        else setScenPoint(ev.latlng.lat, ev.latlng.lng, false);
        setPicking(false);
        LC.status($("scen-status"), "", "info");
      });
      state.layers.districts = L.layerGroup().addTo(made.map);
      state.layers.circles = L.layerGroup().addTo(made.map);
      state.layers.blind = L.layerGroup().addTo(made.map);
      state.layers.scen = L.layerGroup().addTo(made.map);
      return loadAll();
    }).then(function () { document.body.dataset.ready = "1"; });
  }

  $("blind-category").addEventListener("change", loadBlindSpots);
  $("scen-form").addEventListener("submit", submitScenario);
  $("scen-op").addEventListener("change", setScenOp);
  $("scen-outlet").addEventListener("input", function () { $("scen-outlet-name").textContent = ""; });
  $("scen-pick").addEventListener("click", function () { setPicking(!scen.picking); });
  $("scen-lon").addEventListener("change", scenPointFromInputs);
  $("scen-lat").addEventListener("change", scenPointFromInputs);
  LC.onLang(function () { if (state.started) rerender(); if (LC.user) LC.showUserbar(LC.user, showLogin); });
  LC.bindLogin(start);
  LC.me().then(start);
})();
