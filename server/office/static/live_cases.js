// Live map, case layer: the open cases (事件) as diamonds coloured by their SLA clock
// (已超时 red, 即将超时 orange, 时限内 blue), from /office/live/cases.json, refreshed with the
// page's own rhythm. Separate from live.js (the workers' states): it only adds a layer to the
// map live.js made (window.gpLive.map).
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("live-config").textContent);
  var live = window.gpLive || {};
  var box = document.getElementById("live-cases");
  if (!cfg.cases_url || !box) { return; }
  var colours = { breached: "#c0392b", soon: "#e67e22", ok: "#1f78b4", done: "#7f8c8d" };
  var layer = live.map && window.L ? L.layerGroup().addTo(live.map) : null;
  var on = document.getElementById("live-cases-on");
  var url = cfg.cases_url + (cfg.query && cfg.query.village_id ? "?village_id=" + encodeURIComponent(cfg.query.village_id) : "");

  function icon(clock) {
    return L.divIcon({ className: "case-pin c-" + clock, iconSize: [14, 14],
                       html: '<span style="background:' + (colours[clock] || "#555") + '"></span>' });
  }

  function draw(data) {
    Object.keys(data.counts).forEach(function (k) {
      var b = box.querySelector('[data-clock="' + k + '"]');
      if (b) { b.textContent = data.counts[k]; }
    });
    box.setAttribute("data-cases", String(data.cases.length));
    if (!layer) { return; }
    layer.clearLayers();
    data.cases.forEach(function (c) {
      var m = L.marker([c.lat, c.lon], { icon: icon(c.clock), title: "事件 " + c.case_id, keyboard: false })
        .bindTooltip("事件 #" + c.case_id + " " + c.category + " · " + c.status_zh + " · " + c.clock_zh +
                     (c.due_at ? "（" + c.due_at + " 截止）" : ""));
      m.on("click", function () { location.href = c.url; });
      layer.addLayer(m);
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(draw)
      .catch(function () { box.classList.add("stale"); });
  }

  if (on && layer) {
    on.addEventListener("change", function () {
      if (on.checked) { layer.addTo(live.map); } else { live.map.removeLayer(layer); }
    });
  }
  poll();
  if (cfg.refresh_s) { setInterval(poll, cfg.refresh_s * 1000); }
  window.gpLiveCases = { poll: poll };
})();
