/* Satisfaction survey of one circle (满意度调查) and the "what is missing here" form (需求清单).
 * Anonymous: no name, phone or address is asked for. */
(function () {
  "use strict";
  var LC = window.LC;
  var $ = function (id) { return document.getElementById(id); };
  var circleId = $("survey-root").dataset.circleId;
  var state = { survey: null };

  /* The API gives the scale as [{label, label_en, value}]; older shapes are accepted too. */
  var DEFAULT_SCALE = [
    { label: "满意", label_en: "satisfied", value: 5 },
    { label: "比较满意", label_en: "fairly satisfied", value: 4 },
    { label: "一般", label_en: "neutral", value: 3 },
    { label: "不太满意", label_en: "rather dissatisfied", value: 2 },
    { label: "不满意", label_en: "dissatisfied", value: 1 }
  ];

  function scaleOf(survey) {
    var s = survey.scale;
    if (Array.isArray(s) && s.length) return s;
    if (s && Array.isArray(s.labels)) {
      return s.labels.map(function (label, i) {
        return { label: label, label_en: (s.labels_en || [])[i], value: (s.values || [])[i] };
      });
    }
    return DEFAULT_SCALE;
  }

  function renderQuestions() {
    var survey = state.survey;
    var box = $("sv-questions");
    box.innerHTML = "";
    if (!survey) return;
    var name = survey.circle_name || survey.name || (survey.circle && survey.circle.name);
    if (name) $("sv-circle-name").textContent = name;
    var scale = scaleOf(survey);
    var questions = survey.questions || [];
    questions.forEach(function (q, qi) {
      var legendText = LC.lang === "en" ? (q.text_en || q.text_zh) : (q.text_zh || q.text_en);
      if (q.overall) legendText += LC.lang === "en" ? " (overall)" : "（总体）";
      var fs = LC.el("fieldset", { class: "likert", "data-question": q.id }, [
        LC.el("legend", { text: (qi + 1) + ". " + legendText })
      ]);
      var opts = LC.el("div", { class: "likert-options" });
      scale.forEach(function (item, i) {
        var id = "q-" + qi + "-" + i;
        opts.appendChild(LC.el("div", { class: "likert-option" }, [
          LC.el("input", { type: "radio", id: id, name: "q-" + q.id, value: String(item.value) }),
          LC.el("label", { for: id, text: LC.lang === "en" ? (item.label_en || item.label) : item.label })
        ]));
      });
      var naId = "q-" + qi + "-na";
      opts.appendChild(LC.el("div", { class: "likert-option na" }, [
        LC.el("input", { type: "radio", id: naId, name: "q-" + q.id, value: "na" }),
        LC.el("label", { for: naId, text: LC.t("sv.na") })
      ]));
      fs.appendChild(opts);
      box.appendChild(fs);
    });
  }

  function answers() {
    var out = {};
    (state.survey.questions || []).forEach(function (q) {
      var checked = document.querySelector('input[name="q-' + q.id + '"]:checked');
      if (!checked) return;
      out[q.id] = checked.value === "na" ? null : Number(checked.value);
    });
    return out;
  }

  function submitSurvey(ev) {
    ev.preventDefault();
    var status = $("sv-status");
    if (!state.survey) { LC.status(status, LC.t("sv.not_loaded"), "error"); return; }
    var given = answers();
    if (!Object.keys(given).length) {
      LC.status(status, LC.t("sv.answer_one"), "error");
      var first = document.querySelector("#sv-questions input");
      if (first) first.focus();
      return;
    }
    var body = { answers: given };
    var code = new URLSearchParams(window.location.search).get("code");  /* from the 社区's code */
    if (code) body.code = code;
    $("sv-submit").disabled = true;
    LC.api("POST", "/api/survey/" + encodeURIComponent(circleId), body).then(function (r) {
      if (!r.ok) { $("sv-submit").disabled = false; LC.status(status, r.message, "error"); return; }
      LC.status(status, LC.t("sv.thanks"), "ok");
      $("survey-form").querySelectorAll("input, textarea").forEach(function (el) { el.disabled = true; });
    });
  }

  function submitNeed(ev) {
    ev.preventDefault();
    var status = $("need-status");
    var text = $("need-text").value.trim();
    if (!text) { LC.status(status, LC.t("need.empty"), "error"); $("need-text").focus(); return; }
    var body = { circle_id: circleId, text: text };
    if ($("need-category").value) body.category = $("need-category").value;
    LC.api("POST", "/api/needs", body).then(function (r) {
      if (r.ok) { LC.status(status, LC.t("need.thanks"), "ok"); $("need-text").value = ""; }
      else LC.status(status, r.message, "error");
    });
  }

  $("survey-form").addEventListener("submit", submitSurvey);
  $("need-form").addEventListener("submit", submitNeed);
  LC.onLang(function () {
    renderQuestions();
    if (LC.categories.length) LC.fillCategorySelect($("need-category"), "need.any");
  });
  LC.loadCategories().then(function () { LC.fillCategorySelect($("need-category"), "need.any"); });
  LC.get("/api/survey/" + encodeURIComponent(circleId)).then(function (r) {
    if (!r.ok) { LC.status($("sv-status"), r.message, "error"); return; }
    state.survey = r.data;
    renderQuestions();
    document.body.dataset.ready = "1";
  });
})();
