/* Runs in <head>, before the first paint:
 * 1. the remembered language and elderly mode (适老化);
 * 2. whether the system has a Chinese font at all.  Where it has none (e.g. a bare Linux
 *    chromium) the page switches to the bundled font (html.no-cjk, see app.css); elsewhere the
 *    system's own Chinese font is used and the 4 MB bundled font is never downloaded. */
(function () {
  "use strict";
  var root = document.documentElement;
  try {
    var lang = localStorage.getItem("lc.lang") === "en" ? "en" : "zh";
    root.lang = lang === "en" ? "en" : "zh-CN";
    if (localStorage.getItem("lc.elder") === "1") root.classList.add("elder");
  } catch (e) {
    /* storage blocked: keep the defaults (Chinese, standard mode) */
  }
  try {
    /* Two different ideographs drawn alike means both are the "missing glyph" box. */
    var canvas = document.createElement("canvas");
    canvas.width = 40;
    canvas.height = 40;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    var draw = function (ch) {
      ctx.clearRect(0, 0, 40, 40);
      ctx.font = "32px sans-serif";
      ctx.textBaseline = "top";
      ctx.fillStyle = "#000";
      ctx.fillText(ch, 2, 2);
      return Array.prototype.join.call(ctx.getImageData(0, 0, 40, 40).data, "");
    };
    if (ctx && draw("\u4e2d") === draw("\u56fd")) root.classList.add("no-cjk");
  } catch (e) {
    /* no canvas: trust the system fonts */
  }
})();
