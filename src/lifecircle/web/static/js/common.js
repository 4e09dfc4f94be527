/* Shared helpers of the lifecircle pages: language (中文/English), elderly mode (适老化),
 * API calls with the CSRF header, formatting, messages.  No dependencies; exposes window.LC. */
(function () {
  "use strict";

  var STORE_LANG = "lc.lang";
  var STORE_ELDER = "lc.elder";
  var STORE_CSRF = "lc.csrf";

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) { /* storage blocked */ }
  }

  var LC = {
    lang: storageGet(STORE_LANG) === "en" ? "en" : "zh",
    elder: storageGet(STORE_ELDER) === "1",
    categories: [],
    categoryByCode: {},
    langListeners: [],
    user: null
  };

  /* ---------- i18n ---------- */
  LC.t = function (key, vars) {
    var dict = window.LC_I18N[LC.lang] || {};
    var text = dict[key];
    if (text === undefined) text = (window.LC_I18N.zh || {})[key];
    if (text === undefined) text = key;
    if (vars) {
      Object.keys(vars).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(vars[name]));
      });
    }
    return text;
  };

  LC.applyI18n = function (root) {
    root = root || document;
    root.querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = LC.t(el.getAttribute("data-i18n"));
    });
    root.querySelectorAll("[data-i18n-attr]").forEach(function (el) {
      el.getAttribute("data-i18n-attr").split(";").forEach(function (pair) {
        var parts = pair.split(":");
        if (parts.length === 2) el.setAttribute(parts[0].trim(), LC.t(parts[1].trim()));
      });
    });
  };

  LC.setLang = function (lang) {
    LC.lang = lang === "en" ? "en" : "zh";
    storageSet(STORE_LANG, LC.lang);
    document.documentElement.lang = LC.lang === "en" ? "en" : "zh-CN";
    var body = document.body;
    var title = LC.lang === "en" ? body.dataset.titleEn : body.dataset.titleZh;
    document.title = title + " · " + LC.t("brand");
    LC.applyI18n();
    var btn = document.getElementById("lang-toggle");
    if (btn) btn.setAttribute("aria-pressed", LC.lang === "en" ? "true" : "false");
    LC.langListeners.forEach(function (fn) { fn(LC.lang); });
  };
  LC.onLang = function (fn) { LC.langListeners.push(fn); };

  /* ---------- elderly mode (适老化) ---------- */
  LC.setElder = function (on) {
    LC.elder = !!on;
    storageSet(STORE_ELDER, LC.elder ? "1" : "0");
    document.documentElement.classList.toggle("elder", LC.elder);
    var btn = document.getElementById("elder-toggle");
    if (btn) btn.setAttribute("aria-pressed", LC.elder ? "true" : "false");
    document.dispatchEvent(new CustomEvent("lc:elder", { detail: LC.elder }));
  };

  /* ---------- messages ---------- */
  var toastTimer = null;
  LC.toast = function (message, kind) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.className = "toast toast-" + (kind || "info");
    el.hidden = false;
    if (toastTimer) window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(function () { el.hidden = true; }, kind === "error" ? 8000 : 4000);
  };

  /* Show a message inside a form's status line (role=alert for errors). */
  LC.status = function (el, message, kind) {
    if (!el) return;
    el.textContent = message;
    el.className = "form-status status-" + (kind || "info");
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.hidden = !message;
  };

  /* ---------- API ---------- */
  LC.csrf = function () { return storageGet(STORE_CSRF); };
  LC.setCsrf = function (token) { storageSet(STORE_CSRF, token || null); };

  /* "中文 / English" → the part in the page's language (other texts as they are) */
  LC.pickLang = function (text) {
    if (typeof text !== "string") return "";
    var i = text.indexOf(" / ");
    if (i > 0 && /[\u4e00-\u9fff]/.test(text.slice(0, i))) {
      return LC.lang === "en" ? text.slice(i + 3) : text.slice(0, i);
    }
    return text;
  };

  /* The message of a failed request, in the page's language, without HTTP status codes. */
  function errorText(status, data) {
    var en = LC.lang === "en";
    var detail = "";
    if (data && typeof data === "object") {
      if (Array.isArray(data.detail)) {
        detail = data.detail.slice(0, 5).map(function (d) {
          if (!en && d.msg_zh) return d.msg_zh + (d.fix_zh ? "（" + d.fix_zh + "）" : "");
          var where = Array.isArray(d.loc) ? d.loc.filter(function (x) { return x !== "body"; }).join(".") : "";
          return (where && !d.field ? where + ": " : "") + LC.pickLang(d.msg || d.message || "");
        }).join(en ? "; " : "；");
      } else if (!en && data.message_zh) detail = data.message_zh;
      else if (en && data.message_en) detail = data.message_en;
      else if (typeof data.detail === "string") detail = LC.pickLang(data.detail);
      else if (data.message) detail = LC.pickLang(data.message);
    }
    var head;
    if (status === 401) head = LC.t("err.401");
    else if (status === 403) head = LC.t("err.403");
    else if (status === 404) head = LC.t("err.404");
    else if (status === 409) head = LC.t("err.409");
    else if (status === 413) head = LC.t("err.413");
    else if (status === 422 || status === 400) head = LC.t("err.422");
    else if (status === 429) head = LC.t("err.429");
    else if (status === 0) head = LC.t("err.network");
    else head = LC.t("err.other");
    if (status >= 500) return head;  /* nothing technical for residents */
    return detail && detail !== head ? head + (en ? ": " : "：") + detail : head;
  }

  /* fetch JSON; resolves {ok, status, data, message} and never rejects. */
  LC.api = function (method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    if (method !== "GET" && method !== "HEAD") {
      var token = LC.csrf();
      if (token) opts.headers["X-CSRF-Token"] = token;
    }
    return window.fetch(url, opts).then(function (resp) {
      var type = resp.headers.get("Content-Type") || "";
      var parse = type.indexOf("json") >= 0 ? resp.json() : resp.text();
      return parse.catch(function () { return null; }).then(function (data) {
        var result = { ok: resp.ok, status: resp.status, data: data, message: "" };
        if (!resp.ok) result.message = errorText(resp.status, data);
        return result;
      });
    }, function () {
      return { ok: false, status: 0, data: null, message: errorText(0, null) };
    });
  };
  LC.get = function (url) { return LC.api("GET", url); };

  LC.query = function (params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      var v = params[key];
      if (v === undefined || v === null || v === "") return;
      parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(v));
    });
    return parts.length ? "?" + parts.join("&") : "";
  };

  /* ---------- session ---------- */
  LC.me = function () {
    return LC.get("/api/auth/me").then(function (r) {
      if (r.ok && r.data) {
        var user = r.data.user && typeof r.data.user === "object" ? r.data.user : r.data;
        LC.user = {
          username: user.username || r.data.username || r.data.user,
          role: user.role || r.data.role
        };
        if (r.data.csrf_token) LC.setCsrf(r.data.csrf_token);
        return LC.user;
      }
      LC.user = null;
      return null;
    });
  };

  LC.login = function (username, password) {
    return LC.api("POST", "/api/auth/login", { username: username, password: password }).then(function (r) {
      if (r.ok && r.data) {
        LC.setCsrf(r.data.csrf_token || null);
        var user = r.data.user && typeof r.data.user === "object" ? r.data.user : r.data;
        LC.user = { username: user.username || r.data.user || username, role: user.role || r.data.role };
      }
      return r;
    });
  };

  LC.logout = function () {
    return LC.api("POST", "/api/auth/logout").then(function (r) {
      LC.setCsrf(null);
      LC.user = null;
      return r;
    });
  };

  /* Wire the login form of _login.html; onDone(user) runs after a successful login. */
  LC.bindLogin = function (onDone) {
    var form = document.getElementById("login-form");
    if (!form) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var status = document.getElementById("login-status");
      var userEl = document.getElementById("username");
      var passEl = document.getElementById("password");
      var username = userEl.value.trim();
      var password = passEl.value;
      if (!username || !password) {
        LC.status(status, LC.t("login.missing"), "error");
        (username ? passEl : userEl).focus();
        return;
      }
      LC.status(status, LC.t("common.working"), "info");
      LC.login(username, password).then(function (r) {
        if (!r.ok) {
          LC.status(status, r.status === 401 ? LC.t("login.bad") : r.message, "error");
          passEl.select();
          return;
        }
        LC.status(status, "", "info");
        passEl.value = "";
        onDone(LC.user);
      });
    });
  };

  /* Show "logged in as …" with a logout button (the _userbar.html partial). */
  LC.showUserbar = function (user, onLogout) {
    var bar = document.getElementById("userbar");
    if (!bar) return;
    bar.hidden = !user;
    if (!user) return;
    document.getElementById("userbar-text").textContent =
      LC.t("login.as", { user: user.username, role: LC.t("role." + user.role) });
    var btn = document.getElementById("userbar-logout");
    btn.onclick = function () { LC.logout().then(function () { if (onLogout) onLogout(); }); };
  };

  /* ---------- categories (业态) ---------- */
  LC.loadCategories = function () {
    if (LC.categories.length) return Promise.resolve(LC.categories);
    return LC.get("/api/categories").then(function (r) {
      var rows = r.ok && Array.isArray(r.data) ? r.data : (r.ok && r.data && r.data.categories) || [];
      LC.categories = rows;
      LC.categoryByCode = {};
      rows.forEach(function (c) { LC.categoryByCode[c.code] = c; });
      return rows;
    });
  };

  LC.catName = function (code, fallbackZh) {
    var c = LC.categoryByCode[code];
    if (!c) return fallbackZh || code || "";
    return LC.lang === "en" ? (c.name_en || c.name_zh) : (c.name_zh || c.name_en);
  };

  /* Fill a <select> with the 业态, grouped by class (基本保障类 / 品质提升类). */
  LC.fillCategorySelect = function (select, firstLabelKey) {
    var current = select.value;
    select.innerHTML = "";
    if (firstLabelKey) {
      var first = document.createElement("option");
      first.value = "";
      first.textContent = LC.t(firstLabelKey);
      select.appendChild(first);
    }
    ["basic", "quality"].forEach(function (cls) {
      var group = document.createElement("optgroup");
      group.label = LC.t("class." + cls);
      LC.categories.filter(function (c) { return (c["class"] || "basic") === cls; }).forEach(function (c) {
        var opt = document.createElement("option");
        opt.value = c.code;
        opt.textContent = LC.catName(c.code);
        group.appendChild(opt);
      });
      if (group.children.length) select.appendChild(group);
    });
    select.value = current;
  };

  /* ---------- formatting ---------- */
  LC.fmtDistance = function (metres) {
    if (metres === null || metres === undefined || !isFinite(metres)) return LC.t("unreachable");
    if (metres < 1000) return Math.round(metres) + " " + LC.t("unit.m");
    return (metres / 1000).toFixed(1) + " " + LC.t("unit.km");
  };
  LC.fmtMinutes = function (minutes) {
    if (minutes === null || minutes === undefined || !isFinite(minutes)) return "";
    return LC.t("walk.min", { n: Math.max(1, Math.round(minutes)) });
  };
  LC.fmtDate = function (value) {
    if (!value) return "";
    var d = new Date(value);
    if (isNaN(d.getTime())) return String(value);
    return d.toLocaleDateString(LC.lang === "en" ? "en-GB" : "zh-CN");
  };
  LC.el = function (tag, attrs, children) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var v = attrs[key];
        if (v === undefined || v === null || v === false) return;
        if (key === "text") el.textContent = v;
        else if (key === "class") el.className = v;
        else if (key.slice(0, 2) === "on") el.addEventListener(key.slice(2), v);
        else el.setAttribute(key, v === true ? "" : v);
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return el;
  };
  /* Content of a map tooltip or popup: a text node in a span, never HTML (Leaflet puts a string
   * into innerHTML; outlet names, needs and scenario ids are written by users). */
  LC.tipText = function (text) {
    var span = document.createElement("span");
    span.textContent = text === undefined || text === null ? "" : String(text);
    return span;
  };
  LC.services = function (value) {
    if (!value) return [];
    if (Array.isArray(value)) return value;
    return String(value).split(/[;,，、；|]/).map(function (s) { return s.trim(); }).filter(Boolean);
  };

  /* ---------- page chrome ---------- */
  function markNav() {
    var page = document.body.dataset.page;
    document.querySelectorAll(".mainnav a").forEach(function (a) {
      if (a.dataset.nav === page) a.setAttribute("aria-current", "page");
    });
  }

  /* The scripts load at the end of <body>, so the chrome exists already: set it up at once
   * (before the first paint, so the page never shows untranslated keys). */
  function initChrome() {
    var toast = document.getElementById("toast");
    if (toast) toast.addEventListener("click", function () { toast.hidden = true; });
    var langBtn = document.getElementById("lang-toggle");
    if (langBtn) langBtn.addEventListener("click", function () { LC.setLang(LC.lang === "en" ? "zh" : "en"); });
    var elderBtn = document.getElementById("elder-toggle");
    if (elderBtn) elderBtn.addEventListener("click", function () { LC.setElder(!LC.elder); });
    markNav();
    LC.setLang(LC.lang);
    LC.setElder(LC.elder);
  }

  window.LC = LC;
  initChrome();
})();
