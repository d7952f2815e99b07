// Worker-day map: the track over the grid polygons (labelled) and the village office geofence,
// with a replay (slider, play, speed, start/end markers, a moving position) synchronised with
// the timeline lanes (patrol sessions, suspect spans, exemptions).
// Data comes from the page (#day-data), the tile source from #map-config (none: plain background).
(function () {
  "use strict";
  var day = JSON.parse(document.getElementById("day-data").textContent);
  var cfg = JSON.parse(document.getElementById("map-config").textContent);
  var el = document.getElementById("map");
  var t0 = Date.parse(day.day_start);
  var DAY_S = (Date.parse(day.day_end) - t0) / 1000;
  function sec(iso) { return (Date.parse(iso) - t0) / 1000; }
  function hms(s) {
    s = Math.max(0, Math.round(s));
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), x = s % 60;
    return [h, m, x].map(function (v) { return (v < 10 ? "0" : "") + v; }).join(":");
  }
  var pts = (day.track || []).map(function (p) { p.s = sec(p.at); return p; });

  // ---- timeline lanes: patrol sessions, suspect spans, exemptions (percent of the day)
  var lanes = document.getElementById("lanes");
  function lane(name, cls, spans) {
    var div = document.createElement("div");
    div.className = "lane lane-" + cls;
    var label = document.createElement("span");
    label.className = "lname";
    label.textContent = name;
    div.appendChild(label);
    spans.forEach(function (sp) {
      var a = Math.max(0, sp[0]), b = Math.min(DAY_S, sp[1]);
      if (b <= a) { return; }
      var seg = document.createElement("span");
      seg.className = "seg " + cls;
      seg.style.left = (a / DAY_S * 100) + "%";
      seg.style.width = Math.max((b - a) / DAY_S * 100, 0.3) + "%";
      seg.title = name + " " + hms(a).substr(0, 5) + "–" + hms(b).substr(0, 5);
      div.appendChild(seg);
    });
    lanes.appendChild(div);
  }
  var suspect = [];  // suspect fixes closer than 10 minutes make one span
  pts.forEach(function (p) {
    if (p["class"] !== "suspect") { return; }
    var last = suspect[suspect.length - 1];
    if (last && p.s - last[1] <= 600) { last[1] = p.s + 60; } else { suspect.push([p.s, p.s + 60]); }
  });
  if (lanes) {
    var lastFix = pts.length ? pts[pts.length - 1].s : 0;
    lane("巡查", "patrol", (day.patrol_sessions || []).map(function (x) {
      return [sec(x.start), x.end ? sec(x.end) : Math.max(lastFix, sec(x.start) + 60)];
    }));
    lane("可疑", "suspect", suspect);
    lane("请假/外勤", "exempt", (day.exemptions || []).filter(function (e) {
      return e.status === "approved";
    }).map(function (e) { return [sec(e.start_at), sec(e.end_at)]; }));
  }

  // ---- controls
  var slider = document.getElementById("replay-slider");
  var play = document.getElementById("replay-play");
  var clock = document.getElementById("replay-clock");
  var info = document.getElementById("replay-info");
  var speed = document.getElementById("replay-speed");
  var cursors = [];
  ["timeline", "lanes"].forEach(function (id) {
    var box = document.getElementById(id);
    if (!box) { return; }
    var c = document.createElement("span");
    c.className = "cursor";
    box.appendChild(c);
    cursors.push(c);
    box.addEventListener("click", function (ev) {
      var r = box.getBoundingClientRect();
      seek((ev.clientX - r.left) / r.width * DAY_S);
    });
  });
  var startS = pts.length ? pts[0].s : 0, endS = pts.length ? pts[pts.length - 1].s : DAY_S;
  slider.min = String(Math.floor(startS));
  slider.max = String(Math.ceil(endS));
  slider.value = slider.max;

  // ---- map
  var map = null, marker = null, done = null;
  if (window.L && el) {
    map = L.map(el, { preferCanvas: false, attributionControl: !!cfg.tile_url, zoomControl: false, zoomSnap: 0.25 });
    L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
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
      }).bindTooltip(g.grid_id + (g.name ? " " + g.name : ""),
                     { permanent: true, direction: "center", className: "grid-label" });
      layers.push(layer);
      if (own) { bounds.extend(layer.getBounds()); }
    });
    if (day.office) {
      var c = L.circle([day.office.lat, day.office.lon], {
        radius: day.office.radius_m, color: "#1f4e79", dashArray: "6 4", weight: 2, fillOpacity: 0.05
      }).bindTooltip("村部签到范围 " + Math.round(day.office.radius_m) + " 米");
      layers.push(c);
      bounds.extend(c.getLatLng());
    }
    if (pts.length > 1) {
      layers.push(L.polyline(pts.map(function (p) { return [p.lat, p.lon]; }), { color: "#34495e", weight: 1, opacity: 0.5 }));
    }
    pts.forEach(function (p) {
      var m = L.circleMarker([p.lat, p.lon], {
        radius: p["class"] === "suspect" ? 5 : 3, color: colours[p["class"]], weight: 1,
        fillColor: colours[p["class"]], fillOpacity: 0.9, className: "fix fix-" + p["class"]
      }).bindTooltip(p.at.substr(11, 8) + (p.accuracy_m ? " ±" + Math.round(p.accuracy_m) + " 米" : "") + (p["class"] === "suspect" ? " 可疑" : ""));
      layers.push(m);
      bounds.extend(m.getLatLng());
    });
    if (pts.length) {
      var pin = function (p, text, cls) {
        return L.marker([p.lat, p.lon], { icon: L.divIcon({ className: "pin " + cls, html: text, iconSize: [22, 22] }),
                                          title: (cls === "start" ? "起点 " : "终点 ") + p.at.substr(11, 8) });
      };
      layers.push(pin(pts[0], "起", "start"));
      layers.push(pin(pts[pts.length - 1], "终", "end"));
      done = L.polyline([], { color: "#1f4e79", weight: 3, opacity: 0.8 });
      layers.push(done);
      marker = L.circleMarker([pts[0].lat, pts[0].lon], { radius: 9, color: "#fff", weight: 3,
        fillColor: "#1f4e79", fillOpacity: 1, className: "replay-pos" });
      layers.push(marker);
    }
    var labels = function () { el.classList.toggle("labels-off", map.getZoom() < 14); };
    map.on("zoomend", labels);
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.05)); } else { map.setView([32.55, 121.2], 13); }
    labels();
    layers.forEach(function (l) { l.addTo(map); });
  }

  // ---- replay state
  function indexAt(s) {  // last fix at or before s (binary search)
    var lo = 0, hi = pts.length - 1, ans = 0;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (pts[mid].s <= s) { ans = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return ans;
  }
  function seek(s) {
    s = Math.max(startS, Math.min(endS, s));
    slider.value = String(s);
    clock.textContent = hms(s);
    cursors.forEach(function (c) { c.style.left = (s / DAY_S * 100) + "%"; });
    if (!pts.length) { info.textContent = "这一天没有定位"; return; }
    var i = indexAt(s), p = pts[i];
    info.textContent = "第 " + (i + 1) + "/" + pts.length + " 个定位 · " +
      ({ inside: "网格内", outside: "网格外", suspect: "可疑" })[p["class"]];
    if (marker) {
      marker.setLatLng([p.lat, p.lon]);
      done.setLatLngs(pts.slice(0, i + 1).map(function (q) { return [q.lat, q.lon]; }));
    }
    el && el.setAttribute("data-replay-index", String(i));
  }
  var timer = null, lastTick = 0;
  function stop() {
    if (timer) { cancelAnimationFrame(timer); timer = null; }
    play.textContent = play.dataset.play;
  }
  function frame(now) {
    var dtS = (now - lastTick) / 1000;
    lastTick = now;
    var s = Number(slider.value) + dtS * Number(speed.value);
    seek(s);
    if (s >= endS) { stop(); return; }
    timer = requestAnimationFrame(frame);
  }
  play.addEventListener("click", function () {
    if (timer) { stop(); return; }
    if (Number(slider.value) >= endS) { seek(startS); }
    play.textContent = play.dataset.pause;
    lastTick = performance.now();
    timer = requestAnimationFrame(frame);
  });
  slider.addEventListener("input", function () { stop(); seek(Number(slider.value)); });
  play.disabled = pts.length < 2;
  seek(endS);
  if (el) { el.setAttribute("data-ready", "1"); }
})();
