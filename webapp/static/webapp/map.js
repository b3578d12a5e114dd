// Maps with Leaflet (vendored): pick the pickup and destination on the ride form, and
// follow a ride (pickup, destination, the driver's live position). Without Leaflet or
// tiles the page still works: addresses and coordinates are plain form fields.
(() => {
  "use strict";
  const settingsNode = document.getElementById("map-settings");
  const mapNode = document.querySelector("[data-map]");
  if (!settingsNode || !mapNode) return;
  const settings = JSON.parse(settingsNode.textContent);
  const colours = { pickup: "#0a5c2c", destination: "#0b4f8a", driver: "#a1131b" };

  function makeMap(container) {
    if (!window.L) return null;
    container.hidden = false;
    const map = L.map(mapNode, { scrollWheelZoom: false });
    L.tileLayer(settings.tiles, { attribution: settings.attribution, maxZoom: 18 }).addTo(map);
    map.setView([settings.center[1], settings.center[0]], 11);
    return map;
  }

  function marker(map, lonLat, kind) {
    // Vector markers: no images to download, nothing extra for screen readers to read.
    return L.circleMarker([lonLat[1], lonLat[0]], {
      radius: kind === "driver" ? 10 : 8,
      color: "#111",
      weight: 2,
      fillColor: colours[kind],
      fillOpacity: 1,
    }).addTo(map);
  }

  // --- The coordinators' dispatch board ---------------------------------------------------
  // Rides (open ones stand out) and drivers on duty; redrawn when the page's live regions
  // are refreshed, since the server sends the new points with them.
  if (mapNode.hasAttribute("data-board")) {
    const map = makeMap(mapNode);
    if (!map) return;
    const layer = L.layerGroup().addTo(map);
    const drivers = new Map();
    function draw(points) {
      layer.clearLayers();
      drivers.clear();
      const all = [];
      points.rides.forEach((ride) => {
        const m = marker(layer, ride.at, ride.open ? "driver" : "destination");
        m.bindTooltip(ride.label);
        all.push([ride.at[1], ride.at[0]]);
      });
      points.drivers.forEach((driver) => {
        drivers.set(driver.id, marker(layer, driver.at, "pickup").bindTooltip(driver.label));
        all.push([driver.at[1], driver.at[0]]);
      });
      if (all.length) map.fitBounds(all, { padding: [30, 30], maxZoom: 14 });
    }
    draw(JSON.parse(document.getElementById("map-points").textContent));
    document.addEventListener("samby:message", (event) => {
      const message = event.detail;
      if (message.type !== "board.driver") return;
      const moved = drivers.get(message.driver);
      if (moved) moved.setLatLng([message.position[1], message.position[0]]);
    });
    document.addEventListener("samby:refreshed", async () => {
      try {
        const response = await fetch(location.href, { credentials: "same-origin" });
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        const node = fresh.getElementById("map-points");
        if (node) draw(JSON.parse(node.textContent));
      } catch {
        // The next refresh redraws.
      }
    });
    return;
  }

  // --- Following a ride ----------------------------------------------------------------
  const pointsNode = document.getElementById("map-points");
  if (pointsNode && mapNode.hasAttribute("data-follow")) {
    const points = JSON.parse(pointsNode.textContent);
    const map = makeMap(mapNode);
    if (!map) return;
    const note = document.querySelector("[data-map-note]");
    if (note) note.hidden = false;
    marker(map, points.pickup, "pickup");
    marker(map, points.destination, "destination");
    let driver = points.driver ? marker(map, points.driver, "driver") : null;
    const all = [points.pickup, points.destination, points.driver].filter(Boolean);
    map.fitBounds(all.map((p) => [p[1], p[0]]), { padding: [30, 30], maxZoom: 15 });
    document.addEventListener("samby:message", (event) => {
      const message = event.detail;
      if (message.type !== "driver.position" || message.ride !== points.ride) return;
      if (driver) driver.setLatLng([message.position[1], message.position[0]]);
      else driver = marker(map, message.position, "driver");
    });
    return;
  }

  // --- The ride form ---------------------------------------------------------------------
  const form = document.querySelector("[data-ride-form]");
  if (!form) return;
  const field = (name) => form.querySelector(`[name="${name}"]`);

  // The ride form's places are pickup and destination; other forms name theirs
  // (data-place-names="pickup dropoff").
  const placeNames = (form.dataset.placeNames || "pickup destination").split(" ");

  // Show only the time fields the chosen kind of time needs.
  function showTimes() {
    if (!form.querySelector("[data-time=at]")) return;
    const kind = (form.querySelector("[name=time_kind]:checked") || {}).value;
    form.querySelector("[data-time=at]").hidden = !(kind === "pickup_at" || kind === "arrive_by");
    form.querySelector("[data-time=window]").hidden = kind !== "window";
  }
  form.querySelectorAll("[name=time_kind]").forEach((radio) => radio.addEventListener("change", showTimes));
  showTimes();

  function setPoint(place, lon, lat) {
    field(`${place}_lon`).value = lon.toFixed(6);
    field(`${place}_lat`).value = lat.toFixed(6);
    if (map) {
      if (markers[place]) markers[place].setLatLng([lat, lon]);
      else markers[place] = marker(map, [lon, lat], place === placeNames[0] ? "pickup" : "destination");
    }
  }

  // Typing an address forgets a point picked before: the address is looked up instead.
  placeNames.forEach((place) => {
    const input = field(`${place}_address`);
    const list = form.querySelector(`[data-suggestions-for="${input.id}"]`);
    let timer = null;
    input.setAttribute("autocomplete", "off");
    input.addEventListener("input", () => {
      field(`${place}_lon`).value = "";
      field(`${place}_lat`).value = "";
      clearTimeout(timer);
      timer = setTimeout(() => suggest(input, list, place), 300);
    });
  });

  async function suggest(input, list, place) {
    const query = input.value.trim();
    list.replaceChildren();
    list.hidden = true;
    if (query.length < 3) return;
    try {
      const url = `${form.dataset.places}?q=${encodeURIComponent(query)}`;
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) return;
      const { places } = await response.json();
      places.forEach((found) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = found.name;
        button.addEventListener("click", () => {
          input.value = found.name;
          setPoint(place, found.lon, found.lat);
          if (map) map.setView([found.lat, found.lon], 14);
          list.hidden = true;
          input.focus();
        });
        item.append(button);
        list.append(item);
      });
      list.hidden = places.length === 0;
    } catch {
      // No suggestions: the typed address is looked up when the form is sent.
    }
  }

  const picker = form.querySelector("[data-map-picker]");
  const markers = {};
  const map = picker ? makeMap(picker) : null;
  if (map) {
    placeNames.forEach((place) => {
      const lon = parseFloat(field(`${place}_lon`).value);
      const lat = parseFloat(field(`${place}_lat`).value);
      if (!Number.isNaN(lon) && !Number.isNaN(lat)) setPoint(place, lon, lat);
    });
    map.on("click", (event) => {
      const place = (form.querySelector("[name=map_target]:checked") || {}).value || placeNames[0];
      setPoint(place, event.latlng.lng, event.latlng.lat);
      const address = field(`${place}_address`);
      if (!address.value.trim()) {
        address.value = `${picker.dataset.pointLabel || ""} ${event.latlng.lat.toFixed(5)}, ${event.latlng.lng.toFixed(5)}`.trim();
      }
    });
  }

  // Known places: a button fills its field with the place and its point. Only the
  // chosen traveller's are shown, and an empty pickup, or one at the last traveller's
  // home, becomes the home of the traveller chosen.
  const groups = form.querySelectorAll("[data-known-places]");
  const riderField = field("rider");
  const homeOf = (rider) =>
    form.querySelector(`[data-known-places] li[data-rider="${rider}"] button[data-home]`);
  function usePlace(place, button) {
    field(`${place}_address`).value = button.dataset.address;
    const lon = parseFloat(button.dataset.lon);
    const lat = parseFloat(button.dataset.lat);
    setPoint(place, lon, lat);
    if (map) map.setView([lat, lon], 14);
  }
  function showPlacesOf(rider) {
    groups.forEach((group) => {
      let shown = 0;
      group.querySelectorAll("li[data-rider]").forEach((item) => {
        item.hidden = item.dataset.rider !== String(rider);
        if (!item.hidden) shown += 1;
      });
      group.hidden = shown === 0;
    });
  }
  groups.forEach((group) => {
    const place = group.dataset.knownPlaces;
    // The buttons instead of the browser's own list of the same places.
    field(`${place}_address`).removeAttribute("list");
    group.querySelectorAll("button").forEach((button) =>
      button.addEventListener("click", () => usePlace(place, button)),
    );
  });
  if (groups.length && riderField) {
    let rider = riderField.value;
    showPlacesOf(rider);
    const home = homeOf(rider);
    const pickupField = field(`${placeNames[0]}_address`);
    if (home && pickupField.value === home.dataset.address && !field(`${placeNames[0]}_lon`).value) {
      usePlace(placeNames[0], home);
    }
    riderField.addEventListener("change", () => {
      const before = homeOf(rider);
      const after = homeOf(riderField.value);
      const pickup = field(`${placeNames[0]}_address`);
      if (!pickup.value.trim() || (before && pickup.value === before.dataset.address)) {
        if (after) usePlace(placeNames[0], after);
        else {
          pickup.value = "";
          field(`${placeNames[0]}_lon`).value = "";
          field(`${placeNames[0]}_lat`).value = "";
        }
      }
      rider = riderField.value;
      showPlacesOf(rider);
    });
  }
})();
