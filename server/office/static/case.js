// Case page map: the case (red), the instructions' places (blue) and the grid it lies in.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("case-data").textContent);
  var cfg = JSON.parse(document.getElementById("map-config").textContent);
  var el = document.getElementById("map");
  if (!window.L || !el) { return; }
  var map = L.map(el, { attributionControl: !!cfg.tile_url });
  if (cfg.tile_url) {
    L.tileLayer(cfg.tile_url, { maxZoom: cfg.max_zoom || 19, attribution: cfg.attribution || "" }).addTo(map);
  }
  var bounds = L.latLngBounds([]);
  var layers = [];
  if (data.grid) {
    var g = L.geoJSON(data.grid.geometry, { style: { color: "#1f4e79", weight: 2, fillOpacity: 0.06 } })
      .bindTooltip(data.grid.grid_id);
    layers.push(g);
    bounds.extend(g.getBounds());
  }
  var c = L.circleMarker([data["case"].lat, data["case"].lon], {
    radius: 8, color: "#b3261e", fillColor: "#b3261e", fillOpacity: 0.9, className: "case-point"
  }).bindTooltip(data["case"].label, { permanent: true, direction: "top" });
  layers.push(c);
  layers.push(L.circle(c.getLatLng(), { radius: 50, color: "#b3261e", weight: 1, dashArray: "4 4", fillOpacity: 0.03 })
    .bindTooltip("到场判定范围 50 m"));
  bounds.extend(c.getLatLng());
  (data.instructions || []).forEach(function (i) {
    var m = L.circleMarker([i.lat, i.lon], { radius: 6, color: "#1f4e79", fillColor: "#4a90d9", fillOpacity: 0.9 })
      .bindTooltip(i.label);
    layers.push(m);
    bounds.extend(m.getLatLng());
  });
  if (bounds.isValid()) { map.fitBounds(bounds.pad(0.2), { maxZoom: 17 }); } else { map.setView([32.55, 121.2], 13); }
  layers.forEach(function (l) { l.addTo(map); });
  el.setAttribute("data-ready", "1");
})();
