// Worker-day map: the track over the grid polygons and the village office geofence.
// Data comes from the page (#day-data), the tile source from #map-config (none: plain background).
(function () {
  "use strict";
  var day = JSON.parse(document.getElementById("day-data").textContent);
  var cfg = JSON.parse(document.getElementById("map-config").textContent);
  var el = document.getElementById("map");
  if (!window.L || !el) { return; }
  var map = L.map(el, { preferCanvas: false, attributionControl: !!cfg.tile_url });
  if (cfg.tile_url) {
    L.tileLayer(cfg.tile_url, { maxZoom: cfg.max_zoom || 19, attribution: cfg.attribution || "" }).addTo(map);
  }
  // Leaflet needs a view before vector layers are added: build the layers, fit, then add
  var bounds = L.latLngBounds([]);
  var layers = [];
  var colours = { inside: "#2e7d32", outside: "#e67e22", suspect: "#c0392b" };
  (day.village_grids || []).forEach(function (g) {
    var own = day.grid && g.grid_id === day.grid.grid_id;
    var layer = L.geoJSON(g.geometry, {
      style: { color: own ? "#1f4e79" : "#9aa5ae", weight: own ? 3 : 1, fillOpacity: own ? 0.08 : 0.02 }
    }).bindTooltip(g.grid_id + (g.name ? " " + g.name : ""));
    layers.push(layer);
    if (own) { bounds.extend(layer.getBounds()); }
  });
  if (day.office) {
    var c = L.circle([day.office.lat, day.office.lon], {
      radius: day.office.radius_m, color: "#1f4e79", dashArray: "6 4", weight: 2, fillOpacity: 0.05
    }).bindTooltip("村部签到范围 " + Math.round(day.office.radius_m) + " m");
    layers.push(c);
    bounds.extend(c.getLatLng());
  }
  var pts = day.track || [];
  if (pts.length > 1) {
    layers.push(L.polyline(pts.map(function (p) { return [p.lat, p.lon]; }), { color: "#34495e", weight: 1, opacity: 0.5 }));
  }
  pts.forEach(function (p) {
    var m = L.circleMarker([p.lat, p.lon], {
      radius: p["class"] === "suspect" ? 5 : 3, color: colours[p["class"]], weight: 1,
      fillColor: colours[p["class"]], fillOpacity: 0.9, className: "fix fix-" + p["class"]
    }).bindTooltip(p.at.substr(11, 8) + (p.accuracy_m ? " ±" + Math.round(p.accuracy_m) + " m" : "") + (p.reason ? " " + p.reason : ""));
    layers.push(m);
    bounds.extend(m.getLatLng());
  });
  if (bounds.isValid()) { map.fitBounds(bounds.pad(0.05)); } else { map.setView([32.55, 121.2], 13); }
  layers.forEach(function (l) { l.addTo(map); });
  el.setAttribute("data-ready", "1");
})();
