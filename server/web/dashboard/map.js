// The dashboard's map: neighbourhood boundaries, open incidents by priority, officers on
// duty with the age of their fix. Tiles come from BLUELIGHT_MAP_TILES; without them (or
// offline) the boundaries and markers are still drawn.
/* global L */
const COLOURS = { P1: "#d62828", P2: "#f77f00", P3: "#1d70b8", P4: "#6c757d" };

export class IncidentMap {
  constructor(element, onOpen) {
    this.onOpen = onOpen;
    this.map = L.map(element, { preferCanvas: false, zoomSnap: 0.25 });
    const tiles = document.querySelector('meta[name="bluelight-map-tiles"]').content;
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 19,
        attribution: "&copy; OpenStreetMap contributors" }).addTo(this.map);
    }
    this.areas = L.geoJSON(null, { style: { color: "#3a4a5a", weight: 1, fillOpacity: 0.05 } })
      .addTo(this.map);
    this.incidents = L.layerGroup().addTo(this.map);
    this.officers = L.layerGroup().addTo(this.map);
    this.counts = { areas: 0, incidents: 0, officers: 0 };
    this.map.setView([51.5, -0.12], 11);
  }

  setNeighbourhoods(items) {
    this.areas.clearLayers();
    for (const n of items) if (n.geometry) this.areas.addData({ type: "Feature", geometry: n.geometry,
      properties: { name: n.name } });
    this.counts.areas = items.length;
    const bounds = this.areas.getBounds();
    if (bounds.isValid()) this.map.fitBounds(bounds, { padding: [10, 10] });
    this.summary();
  }

  setIncidents(incidents) {
    // Incremental: a queue re-render must not rebuild a thousand markers.
    this.markers = this.markers || new Map();
    const seen = new Set();
    for (const inc of incidents) {
      if (!inc.location) continue;
      seen.add(inc.id);
      const key = `${inc.priority}|${inc.location.lat}|${inc.location.lon}|${inc.summary || ""}`;
      const old = this.markers.get(inc.id);
      if (old && old.key === key) continue;
      if (old) this.incidents.removeLayer(old.marker);
      const marker = L.circleMarker([inc.location.lat, inc.location.lon], {
        radius: inc.priority === "P1" ? 9 : 7, color: "#fff", weight: 2,
        fillColor: COLOURS[inc.priority] || "#888", fillOpacity: 0.95,
        className: `incident ${inc.priority}`,
      }).bindTooltip(`${inc.priority} ${inc.category}: ${inc.summary || ""}`)
        .on("click", () => this.onOpen(inc.id)).addTo(this.incidents);
      this.markers.set(inc.id, { key, marker });
    }
    for (const [id, entry] of this.markers) {
      if (!seen.has(id)) { this.incidents.removeLayer(entry.marker); this.markers.delete(id); }
    }
    this.counts.incidents = seen.size;
    this.summary();
  }

  setOfficers(officers) {
    this.officers.clearLayers();
    let n = 0;
    for (const o of officers) {
      if (!o.on_duty || !o.location) continue;
      n += 1;
      L.circleMarker([o.location.lat, o.location.lon], { radius: 4, color: "#12263a",
        weight: 2, fillColor: "#ffffff", fillOpacity: 1, className: "officer" })
        .bindTooltip(`${o.callsign} ${o.name}, fix ${Math.round(o.location.age_s)} s old`)
        .addTo(this.officers);
    }
    this.counts.officers = n;
    this.summary();
  }

  summary() {
    const c = this.counts;
    document.getElementById("map-summary").textContent =
      `${c.areas} neighbourhoods, ${c.incidents} incidents and ${c.officers} officers on duty on the map`;
  }
}
