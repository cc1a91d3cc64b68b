/* township-coverage: interactive parts of the coverage map.
 *
 * TownshipCoverage.init(map, layerControl, options) draws, on a Leaflet map
 * built by Folium, the townships and county borders (decoded from the
 * compact topology by topology.js), the indicator switch and its legend,
 * township labels in view when zoomed in, site layers (community rooms, and
 * any layer of thousands of sites, clustered), optional coverage circles,
 * search by township or village name, full screen and reset-view buttons.
 *
 * Text that comes from the data is only ever put into the page with
 * textContent, or is HTML that Python escaped already (legends, layer
 * names), so names cannot inject markup or script.
 */
(function () {
  "use strict";

  var TOWNSHIP_STYLE = {fillOpacity: 0.8, color: "#ffffff", weight: 0.8};
  var HIGHLIGHT_STYLE = {weight: 2.5, color: "#333333"};
  var MAX_LABELS = 400;  // labels drawn at once; more are too many to read

  function element(tag, className, parent, text) {
    var node = L.DomUtil.create(tag, className || "", parent);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* The text of a value as the tables show it: whole numbers with thousands separators, shares in percent. */
  function formatValue(indicator, value, text) {
    if (value === null || value === undefined) return text.no_data;
    if (indicator.kind === "yes_no") return value ? text.yes : text.no;
    if (indicator.kind === "share") return value + "%";
    var number = value.toLocaleString("en-US");
    return indicator.unit ? number + " " + indicator.unit : number;
  }

  function townshipHead(options, index, parent) {
    var t = options.townships;
    element("b", "", parent, t.names[index]);
    var county = t.county_names[t.county[index]];
    parent.appendChild(document.createTextNode(options.text.lang === "zh" ? "（" + county + "）" : " (" + county + ")"));
  }

  function decodeNamedPoints(layer) {
    var points = TownshipTopology.points(layer);
    var townships = TownshipTopology.varints(layer.township);
    return points.map(function (latlng, i) { return {latlng: latlng, name: layer.names[i], township: townships[i] - 1}; });
  }

  function addTownships(map, layerControl, options, state) {
    var shapes = TownshipTopology.shapes(options.townships.topology);
    var group = L.featureGroup();
    state.shapes = shapes.map(function (polygons, index) {
      var shape = L.polygon(polygons, L.extend({}, TOWNSHIP_STYLE));
      shape.feature = {properties: {township_code: options.townships.codes[index]}};
      shape.tcIndex = index;
      shape.bindTooltip(function () { return tooltip(options, state, index); }, {sticky: true});
      shape.bindPopup(function () { return popup(options, state, index); }, {maxWidth: 380});
      shape.on("mouseover", function () { shape.setStyle(HIGHLIGHT_STYLE); shape.bringToFront(); });
      shape.on("mouseout", function () { shape.setStyle({weight: TOWNSHIP_STYLE.weight, color: TOWNSHIP_STYLE.color}); });
      group.addLayer(shape);
      return shape;
    });
    group.addTo(map);
    if (options.county_borders) {
      var lines = TownshipTopology.arcs(options.county_borders);
      var borders = L.polyline(lines, {color: "#404040", weight: 1.8, interactive: false}).addTo(map);
      layerControl.addOverlay(borders, options.text.counties);
    }
  }

  function tooltip(options, state, index) {
    var box = element("span");
    townshipHead(options, index, box);
    element("br", "", box);
    var indicator = state.indicator;
    box.appendChild(document.createTextNode(
      indicator.label + ": " + formatValue(indicator, indicator.values[index], options.text)));
    return box;
  }

  function popup(options, state, index) {
    var box = element("div", "tc-popup");
    box.setAttribute("data-township", options.townships.codes[index]);
    townshipHead(options, index, box);
    var table = element("table", "", box);
    options.indicators.forEach(function (indicator) {
      var row = element("tr", "", table);
      element("td", "", row, indicator.label);
      element("td", "", row, formatValue(indicator, indicator.values[index], options.text));
    });
    var line = element("div", "", box);
    element("b", "", line, options.text.sites);
    var names = sitesByTownship(options, state)[index] || [];
    line.appendChild(document.createTextNode(": " + (names.join("、") || "—")));
    return box;
  }

  function sitesByTownship(options, state) {
    if (!state.siteNames) {
      state.siteNames = {};
      state.sites.forEach(function (site) {
        if (site.township < 0) return;
        (state.siteNames[site.township] = state.siteNames[site.township] || []).push(site.name);
      });
    }
    return state.siteNames;
  }

  function addIndicatorSwitch(map, options, state) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var box = element("div", "tc-legend leaflet-bar");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      element("div", "tc-legend-title", box, options.text.indicator);
      var form = element("form", "tc-indicators", box);
      var legend = element("div", "tc-legend-body", box);
      function show(indicator) {
        state.indicator = indicator;
        state.shapes.forEach(function (shape, index) {
          shape.setStyle({fillColor: indicator.palette[indicator.classes.charCodeAt(index) - 97]});
        });
        legend.innerHTML = indicator.legend_html;  // escaped in Python
        box.setAttribute("data-indicator", indicator.column);
      }
      options.indicators.forEach(function (indicator, index) {
        var label = element("label", "", form);
        var input = element("input", "", label);
        input.type = "radio";
        input.name = "tc-indicator";
        input.value = indicator.column;
        input.checked = index === 0;
        label.appendChild(document.createTextNode(" " + indicator.label));
        L.DomEvent.on(input, "change", function () { show(indicator); });
      });
      show(options.indicators[0]);
      return box;
    };
    control.addTo(map);
  }

  /* Labels of the townships in view, once zoomed in far enough to read them. */
  function addLabels(map, options) {
    var points = TownshipTopology.points(options.labels);
    var names = options.townships.names;
    var labels = L.layerGroup().addTo(map);
    var markers = {};
    function marker(index) {
      if (!markers[index]) {
        var text = element("span", "tc-label-text", undefined, names[index]);
        markers[index] = L.marker(points[index], {
          icon: L.divIcon({className: "tc-label", html: text, iconSize: null}),
          interactive: false,
          keyboard: false,
        });
      }
      return markers[index];
    }
    function update() {
      labels.clearLayers();
      if (map.getZoom() < options.label_min_zoom) return;
      var view = map.getBounds().pad(0.2), shown = 0;
      for (var i = 0; i < points.length && shown < MAX_LABELS; i++) {
        if (view.contains(points[i])) {
          labels.addLayer(marker(i));
          shown += 1;
        }
      }
    }
    map.on("moveend", update);
    update();
  }

  function siteMarker(site, item) {
    var marker;
    if (site.symbol === "circle" || site.symbol === "dot") {
      marker = L.circleMarker(item.latlng, {
        radius: site.radius, color: "#ffffff", weight: 1, fillColor: site.colour, fillOpacity: 0.95,
      });
    } else {
      var badge = element("span", "tc-badge tc-badge-" + site.symbol, undefined, site.letter || "");
      badge.style.background = site.colour;
      var size = 2 * site.radius + 2;
      marker = L.marker(item.latlng, {
        icon: L.divIcon({className: "tc-badge-icon", html: badge, iconSize: [size, size]}),
      });
    }
    marker.bindTooltip(function () { return element("span", "", undefined, item.name); });
    return marker;
  }

  function addSites(map, layerControl, options, state) {
    state.sites = [];
    options.sites.forEach(function (site) {
      var items = decodeNamedPoints(site);
      state.sites = state.sites.concat(items);
      var markers = items.map(function (item) { return siteMarker(site, item); });
      var layer = site.cluster && L.markerClusterGroup
        ? L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 40, disableClusteringAtZoom: 12})
        : L.featureGroup();
      if (layer.addLayers) layer.addLayers(markers);
      else markers.forEach(function (marker) { layer.addLayer(marker); });
      layer.tcSiteType = site.type;
      layer.addTo(map);
      layerControl.addOverlay(layer, site.label_html);  // escaped in Python
    });
    if (options.radius) {
      var circles = L.featureGroup(TownshipTopology.points(options.radius).map(function (latlng) {
        return L.circle(latlng, {
          radius: options.radius.metres, color: "#2b8cbe", weight: 0.6, fillOpacity: 0.06, interactive: false,
        });
      }));
      layerControl.addOverlay(circles, options.radius.label_html);  // escaped in Python
    }
  }

  function addButtons(map, options) {
    var control = L.control({position: "topleft"});
    control.onAdd = function () {
      var bar = element("div", "leaflet-bar tc-buttons");
      L.DomEvent.disableClickPropagation(bar);
      function button(className, symbol, title, action) {
        var link = element("a", className, bar, symbol);
        link.href = "#";
        link.title = title;
        link.setAttribute("role", "button");
        L.DomEvent.on(link, "click", function (event) {
          L.DomEvent.preventDefault(event);
          action();
        });
      }
      button("tc-reset", "⌂", options.text.reset, function () { map.fitBounds(options.bounds); });
      button("tc-fullscreen", "⤢", options.text.fullscreen, function () {
        var container = map.getContainer();
        if (document.fullscreenElement) document.exitFullscreen();
        else if (container.requestFullscreen) container.requestFullscreen();
      });
      document.addEventListener("fullscreenchange", function () { map.invalidateSize(); });
      return bar;
    };
    control.addTo(map);
  }

  function addSearch(map, options, state) {
    var t = options.townships;
    var entries = null;
    function searchEntries() {  // built at the first search, not at load
      if (entries) return entries;
      entries = t.names.map(function (name, index) {
        return {name: name, detail: t.county_names[t.county[index]], kind: "township", index: index};
      });
      if (options.villages) {
        decodeNamedPoints(options.villages).forEach(function (item) {
          entries.push({name: item.name, detail: item.township >= 0 ? t.names[item.township] : "", kind: "village", latlng: item.latlng});
        });
      }
      return entries;
    }
    var pin = null;
    var control = L.control({position: "topleft"});
    control.onAdd = function () {
      var box = element("div", "tc-search leaflet-bar");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var input = element("input", "", box);
      input.type = "search";
      input.placeholder = options.text.search;
      input.setAttribute("aria-label", options.text.search);
      var list = element("ul", "tc-search-results", box);
      function go(entry) {
        list.textContent = "";
        if (pin) { pin.remove(); pin = null; }
        if (entry.kind === "township") {
          var shape = state.shapes[entry.index];
          map.fitBounds(shape.getBounds(), {maxZoom: 13});
          shape.openPopup(shape.getBounds().getCenter());
        } else {
          map.setView(entry.latlng, 14);
          pin = L.circleMarker(entry.latlng, {radius: 9, color: "#000", weight: 2, fill: false}).addTo(map);
          pin.bindTooltip(element("span", "", undefined, entry.name + " · " + entry.detail), {permanent: true}).openTooltip();
        }
      }
      function find() {
        var query = input.value.trim();
        list.textContent = "";
        if (!query) return [];
        var exact = [], partial = [];
        searchEntries().forEach(function (entry) {
          if (entry.name === query) exact.push(entry);
          else if (entry.name.indexOf(query) >= 0) partial.push(entry);
        });
        var found = exact.concat(partial).slice(0, 12);
        if (!found.length) element("li", "tc-none", list, options.text.no_results);
        found.forEach(function (entry) {
          var item = element("li", "tc-result tc-result-" + entry.kind, list);
          element("b", "", item, entry.name);
          element("span", "", item, " " + entry.detail);
          L.DomEvent.on(item, "click", function () { go(entry); });
        });
        return found;
      }
      L.DomEvent.on(input, "input", find);
      L.DomEvent.on(input, "keydown", function (event) {
        if (event.key === "Enter") {
          var found = find();
          if (found.length) go(found[0]);
        }
      });
      return box;
    };
    control.addTo(map);
  }

  window.TownshipCoverage = {
    init: function (map, layerControl, options) {
      // Without a tile layer Folium sets no zoom range; clustering needs one.
      // (Set as options: setMinZoom would start an animation racing fitBounds.)
      if (map.options.maxZoom === undefined) map.options.maxZoom = 18;
      if (map.options.minZoom === undefined) map.options.minZoom = 3;
      map.fitBounds(options.bounds);
      // A narrow map (an embedded frame) starts with the layer list folded.
      if (map.getSize().x < 800) layerControl.collapse();
      var state = {};
      addTownships(map, layerControl, options, state);
      addIndicatorSwitch(map, options, state);
      addSites(map, layerControl, options, state);
      addLabels(map, options);
      addButtons(map, options);
      addSearch(map, options, state);
      map.getContainer().setAttribute("data-tc-ready", "1");
    },
  };
})();
