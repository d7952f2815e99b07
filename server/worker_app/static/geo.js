// Small geometry for the screen only (the server's geo engine decides what counts).

// ray casting on a GeoJSON Polygon/MultiPolygon (lon/lat); holes subtract
export function inside(geom, lon, lat) {
  if (!geom) return false;
  const polys = geom.type === 'MultiPolygon' ? geom.coordinates : [geom.coordinates];
  return polys.some((rings) => inRing(rings[0], lon, lat)
    && !rings.slice(1).some((r) => inRing(r, lon, lat)));
}

function inRing(ring, x, y) {
  let c = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

export function metres(lon1, lat1, lon2, lat2) {
  const r = 6371008.8;
  const p = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * p) / 2) ** 2
    + Math.cos(lat1 * p) * Math.cos(lat2 * p) * Math.sin(((lon2 - lon1) * p) / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(a));
}
