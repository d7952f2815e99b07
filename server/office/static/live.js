// Live map: latest position and state of every worker over the grids, the open alerts,
// the counts and the table, refreshed by polling live.json (no reload). Config and the first
// data come from the page (#live-config, #live-data); the map needs no tiles.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("live-config").textContent);
  var first = JSON.parse(document.getElementById("live-data").textContent);
  var el = document.getElementById("live-map");
  var colours = { on_patrol: "#2e7d32", in_grid: "#1f78b4", off_post: "#e67e22",
                  unreachable: "#c0392b", off_duty: "#7f8c8d" };
  var qs = Object.keys(cfg.query || {}).map(function (k) {
    return encodeURIComponent(k) + "=" + encodeURIComponent(cfg.query[k]);
  }).join("&");
  var map = null, markers = null, fitted = false;

  function node(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }

  function dayLink(wid, date, text) {
    return node("a", { href: "/office/workers/" + encodeURIComponent(wid) + "/days/" + date }, text);
  }

  function drawMarkers(data) {
    if (!map) { return; }
    markers.clearLayers();
    var b = L.latLngBounds([]);
    data.rows.forEach(function (r) {
      if (r.lat === null || r.lon === null) { return; }
      var m = L.circleMarker([r.lat, r.lon], {
        radius: 7, color: "#fff", weight: 2, fillColor: colours[r.state] || "#555",
        fillOpacity: 0.95, className: "worker s-" + r.state
      }).bindTooltip(r.name + " · " + r.state_zh + (r.fix_at ? " · " + r.fix_at : ""));
      m.on("click", function () { location.href = "/office/workers/" + encodeURIComponent(r.worker_id) + "/days/" + data.date; });
      markers.addLayer(m);
      b.extend(m.getLatLng());
    });
    return b;
  }

  function drawSide(data) {
    document.getElementById("live-at").textContent = data.at;
    document.querySelectorAll("#live-counts [data-state]").forEach(function (s) {
      s.querySelector("b").textContent = data.counts[s.dataset.state] || 0;
    });
    var ul = document.getElementById("alerts");
    ul.textContent = "";
    document.getElementById("alert-count").textContent = data.alerts.length;
    if (!data.alerts.length) { ul.appendChild(node("li", { "class": "muted" }, "没有告警")); }
    data.alerts.forEach(function (a) {
      var li = node("li", { "class": "al-" + a.kind });
      li.appendChild(dayLink(a.worker_id, data.date, a.name));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(node("span", { "class": "badge" }, a.kind_zh));
      li.appendChild(document.createTextNode(" " + a.start + " 起 " + a.minutes + " 分钟 "));
      li.appendChild(node("code", {}, a.rule));
      ul.appendChild(li);
    });
    var body = document.querySelector("#live-table tbody");
    body.textContent = "";
    data.rows.forEach(function (r) {
      var tr = node("tr", { "data-worker": r.worker_id, "data-status": r.state });
      var td = node("td");
      td.appendChild(dayLink(r.worker_id, data.date, r.name));
      td.appendChild(document.createTextNode(" "));
      td.appendChild(node("small", { "class": "muted" }, r.worker_id));
      tr.appendChild(td);
      tr.appendChild(node("td", {}, r.village_name || ""));
      tr.appendChild(node("td", {}, r.grid_id || ""));
      td = node("td");
      td.appendChild(node("span", { "class": "badge s-" + r.state }, r.state_zh));
      if (r.reason) { td.appendChild(document.createTextNode(" ")); td.appendChild(node("small", { "class": "muted" }, r.reason)); }
      tr.appendChild(td);
      tr.appendChild(node("td", {}, r.last_seen || "无"));
      tr.appendChild(node("td", {}, r.silent_min === null ? "" : r.silent_min));
      tr.appendChild(node("td", {}, (r.fix_at || "无") + (r.fix_grid_id && r.fix_grid_id !== r.grid_id ? " · 在 " + r.fix_grid_id : "")));
      body.appendChild(tr);
    });
    if (window.stackTables) { window.stackTables(); }
  }

  function render(data) {
    var b = drawMarkers(data);
    drawSide(data);
    if (map && !fitted && b && b.isValid()) { map.fitBounds(b.pad(0.2)); fitted = true; }
    document.body.setAttribute("data-live-at", data.at);
  }

  function poll() {
    fetch(cfg.json_url + (qs ? "?" + qs : ""), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) { render(data); document.getElementById("live-refresh").classList.remove("stale"); })
      .catch(function () { document.getElementById("live-refresh").classList.add("stale"); });
  }

  if (window.L && el) {
    map = L.map(el, { attributionControl: !!cfg.tile_url, zoomControl: false, zoomSnap: 0.25 });
    L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
    if (cfg.tile_url) {
      L.tileLayer(cfg.tile_url, { maxZoom: cfg.max_zoom || 19, attribution: cfg.attribution || "" }).addTo(map);
    }
    map.setView([32.55, 121.2], 13);
    markers = L.layerGroup().addTo(map);
    // grid labels only when zoomed in far enough to read them
    var labels = function () { el.classList.toggle("labels-off", map.getZoom() < 15); };
    map.on("zoomend", labels);
    labels();
    var gq = cfg.query && cfg.query.village_id ? "?village_id=" + encodeURIComponent(cfg.query.village_id) : "";
    fetch(cfg.grids_url + gq, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (fc) {
        var layer = L.geoJSON(fc, { style: { color: "#1f4e79", weight: 1, fillOpacity: 0.04 } });
        layer.eachLayer(function (l) {
          var p = l.feature.properties;
          l.bindTooltip(p.grid_id + (p.name ? " " + p.name : ""), { permanent: true, direction: "center", className: "grid-label" });
        });
        layer.addTo(map);
        markers.bringToFront && markers.eachLayer(function (m) { m.bringToFront(); });
        map.invalidateSize();
        if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds().pad(0.02)); fitted = true; }
        labels();
        el.setAttribute("data-grids", String(fc.features.length));
      });
  }
  render(first);
  if (el) { el.setAttribute("data-ready", "1"); }
  if (cfg.refresh_s) { setInterval(poll, cfg.refresh_s * 1000); }
  window.gpLive = { poll: poll, map: map };  // the browser test polls once without waiting
})();
