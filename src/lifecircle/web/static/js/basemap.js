/* Base map drawn from the city's own street network (no tile server needed).
 * LC.createMap(elementId, options) → Promise of {map, city}.  The network comes from
 * GET /api/network?bbox= as GeoJSON lines and is drawn on a canvas, styled by highway class;
 * GET /api/city may name a tile_url, drawn underneath when set. */
(function () {
  "use strict";
  var LC = window.LC;

  /* Street styles by OSM highway class (the network keeps the class in `highway`). */
  var MAJOR = { motorway: 1, trunk: 1, primary: 1, motorway_link: 1, trunk_link: 1, primary_link: 1 };
  var MIDDLE = { secondary: 1, tertiary: 1, secondary_link: 1, tertiary_link: 1 };
  var PATHS = { footway: 1, path: 1, pedestrian: 1, steps: 1, cycleway: 1, bridleway: 1, corridor: 1, track: 1 };

  function streetClass(props) {
    var hw = props && (props.highway || props["class"] || props.kind);
    if (Array.isArray(hw)) hw = hw[0];
    hw = String(hw || "");
    if (MAJOR[hw]) return "major";
    if (MIDDLE[hw]) return "middle";
    if (PATHS[hw]) return "path";
    return "minor";
  }

  var STYLES = {
    major: { color: "#e8944a", weight: 6, opacity: 1 },
    middle: { color: "#f2cd6b", weight: 5, opacity: 1 },
    minor: { color: "#ffffff", weight: 3.5, opacity: 1 },
    path: { color: "#9c8a7c", weight: 1.5, opacity: 0.9, dashArray: "4 3" }
  };
  var CASING = {
    major: { color: "#b9763c", weight: 8, opacity: 1 },
    middle: { color: "#c9a85a", weight: 6.5, opacity: 1 },
    minor: { color: "#cfc6ba", weight: 5, opacity: 1 },
    path: null
  };
  var ORDER = ["path", "minor", "middle", "major"];

  function bboxParam(bounds) {
    return [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
      .map(function (v) { return v.toFixed(6); }).join(",");
  }

  function cityBounds(city) {
    var b = city && city.bbox;
    if (Array.isArray(b) && b.length === 4) return L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
    if (b && typeof b === "object" && "minx" in b) return L.latLngBounds([b.miny, b.minx], [b.maxy, b.maxx]);
    return null;
  }
  LC.cityBounds = cityBounds;

  /* Draw the network lines of the current view; casing first, then fills, minor roads below. */
  function NetworkLayer(map, renderer) {
    this.map = map;
    this.group = L.layerGroup().addTo(map);
    this.renderer = renderer;
    this.seq = 0;
    this.loadedBox = null;
  }
  NetworkLayer.prototype.refresh = function () {
    var self = this;
    var view = self.map.getBounds();
    if (self.loadedBox && self.loadedBox.contains(view)) return Promise.resolve();
    var box = view.pad(0.35);
    var seq = ++self.seq;
    return LC.get("/api/network" + LC.query({ bbox: bboxParam(box) })).then(function (r) {
      if (seq !== self.seq) return;
      if (!r.ok || !r.data) {
        LC.toast(LC.t("map.network_failed") + " " + r.message, "error");
        return;
      }
      var features = r.data.features || [];
      var buckets = { path: [], minor: [], middle: [], major: [] };
      features.forEach(function (f) { buckets[streetClass(f.properties)].push(f); });
      self.group.clearLayers();
      var renderer = self.renderer;
      ORDER.forEach(function (cls) {
        if (CASING[cls] && buckets[cls].length) {
          self.group.addLayer(L.geoJSON({ type: "FeatureCollection", features: buckets[cls] }, {
            style: function () { return Object.assign({ renderer: renderer, interactive: false }, CASING[cls]); },
            interactive: false
          }));
        }
      });
      ORDER.forEach(function (cls) {
        if (buckets[cls].length) {
          self.group.addLayer(L.geoJSON({ type: "FeatureCollection", features: buckets[cls] }, {
            style: function () { return Object.assign({ renderer: renderer, interactive: false }, STYLES[cls]); },
            interactive: false
          }));
        }
      });
      self.loadedBox = r.data.truncated ? view : box;
      self.map.getContainer().dataset.networkFeatures = String(features.length);
      self.map.fire("lc:network", { count: features.length });
    });
  };

  /* Create the map: fit the city, draw the network (and tiles when configured). */
  LC.createMap = function (elementId, options) {
    options = options || {};
    var map = L.map(elementId, {
      zoomControl: true,
      attributionControl: true,
      minZoom: 11,
      maxZoom: 19,
      keyboard: true,
      preferCanvas: false,
      tap: false
    });
    map.attributionControl.setPrefix('<a href="https://leafletjs.com" rel="noopener">Leaflet</a>');
    var container = map.getContainer();
    container.setAttribute("aria-label", LC.t("map.label"));
    LC.onLang(function () { container.setAttribute("aria-label", LC.t("map.label")); });
    map.createPane("network");
    map.getPane("network").style.zIndex = 250;
    var networkRenderer = L.canvas({ pane: "network", padding: 0.35 });
    var network = new NetworkLayer(map, networkRenderer);

    return LC.get("/api/city").then(function (r) {
      var city = r.ok && r.data ? r.data : {};
      if (city.tile_url) {
        L.tileLayer(city.tile_url, {
          maxZoom: 19,
          attribution: city.tile_attribution || "",
          className: "lc-tiles"
        }).addTo(map);
        container.classList.add("has-tiles");
      }
      if (city.attribution) map.attributionControl.addAttribution(city.attribution);
      else map.attributionControl.addAttribution(LC.t("map.network_attribution"));
      var bounds = cityBounds(city);
      if (options.center) map.setView(options.center, options.zoom || 16);
      else if (Array.isArray(city.center) && city.center.length === 2) {
        map.setView([city.center[1], city.center[0]], options.zoom || 15);
      } else if (bounds) map.fitBounds(bounds);
      else map.setView([0, 0], 2);
      if (bounds) map.setMaxBounds(bounds.pad(0.5));
      var timer = null;
      map.on("moveend", function () {
        if (timer) window.clearTimeout(timer);
        timer = window.setTimeout(function () { network.refresh(); }, 150);
      });
      return network.refresh().then(function () {
        return { map: map, city: city, network: network };
      });
    });
  };

  /* A draggable pin at [lat, lon] on `map`: `marker` moved there, or a new one when it is null.
   * onMove(lat, lon, false) runs after the pin is dragged.  Returns the marker. */
  LC.placeMarker = function (map, marker, lat, lon, title, onMove) {
    if (marker) { marker.setLatLng([lat, lon]); return marker; }
    var pin = L.marker([lat, lon], {
      draggable: true,
      keyboard: true,
      title: title,
      alt: title,
      icon: L.divIcon({ className: "lc-pick", html: "<span></span>", iconSize: [28, 28], iconAnchor: [14, 28] })
    }).addTo(map);
    pin.on("dragend", function () {
      var ll = pin.getLatLng();
      onMove(ll.lat, ll.lng, false);
    });
    return pin;
  };

  /* GeoJSON [lon, lat] pairs → Leaflet [lat, lon]. */
  LC.latLngs = function (geometry) {
    if (!geometry) return [];
    if (geometry.type === "LineString") return geometry.coordinates.map(function (c) { return [c[1], c[0]]; });
    if (geometry.type === "MultiLineString") {
      return geometry.coordinates.map(function (line) { return line.map(function (c) { return [c[1], c[0]]; }); });
    }
    return [];
  };
})();
