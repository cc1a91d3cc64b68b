/* township-coverage: interactive parts of the coverage map.
 *
 * TownshipCoverage.init(map, layerControl, options) draws, on a Leaflet map
 * built by Folium, the townships and county borders (decoded from the
 * compact topology by topology.js), the indicator switch and its legend,
 * township labels in view when zoomed in, site layers (a layer of
 * thousands of sites as counts until zoomed in), optional coverage circles,
 * search by township or village name, full screen and reset-view buttons,
 * a metric scale, the notices (schematic data, rows left out) and, on a
 * plan's page, its summary box and the proposed rooms numbered in opening
 * order. While the map is small (an embedded frame, a phone) the panels
 * fold to buttons, one open at a time, so that the map stays in view.
 * TownshipCoverage.page lets timeline.js restyle the townships with another
 * step's values and show only some sites.
 *
 * Text that comes from the data is only ever put into the page with
 * textContent, or is HTML that Python escaped already (legends, layer
 * names), so names cannot inject markup or script.
 */
(function () {
  "use strict";

  var MAX_LABELS = 400;  // labels drawn at once; more are too many to read
  var MAX_IN_VIEW = 1500;  // markers a by-zoom layer draws at most
  var BY_ZOOM_SHOW_AT = 12;  // from this zoom a by-zoom layer shows every point in view
  var RADIUS_MIN_ZOOM = 8;  // coverage circles are drawn from this zoom on
  // A map narrower or lower than this (in pixels) folds its panels to buttons.
  var COMPACT_WIDTH = 1000, COMPACT_HEIGHT = 640;
  var COMPACT_PANEL_HEIGHT = 0.7;  // an open panel of a compact map takes at most this share of its height

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

  /* Points with their names and township positions; names and townships
   * may come later, from the details script (setNames). */
  function decodeNamedPoints(layer) {
    var items = TownshipTopology.points(layer).map(function (latlng) { return {latlng: latlng}; });
    if (layer.names) setNames(items, layer);
    return items;
  }

  function setNames(items, named) {
    var townships = TownshipTopology.varints(named.township);
    items.forEach(function (item, i) {
      item.name = named.names[i];
      item.township = townships[i] - 1;
    });
  }

  /* Township codes as text: sent as text, or as steps between whole numbers. */
  function decodeTownships(townships) {
    if (!Array.isArray(townships.codes)) {
      var code = 0;
      townships.codes = Array.from(TownshipTopology.varints(townships.codes.steps), function (step) {
        code += TownshipTopology.unzigzag(step);
        return String(code);
      });
    }
    townships.county = TownshipTopology.varints(townships.county);
  }

  /* Indicator values: varints, 0 for missing, else the zigzag of the value plus one. */
  function values(text) {
    return Array.from(TownshipTopology.varints(text), function (code) {
      return code === 0 ? null : TownshipTopology.unzigzag(code - 1);
    });
  }

  function decodeValues(indicator) {
    indicator.values = values(indicator.values);
  }

  function addTownships(map, layerControl, options, state) {
    var borders = options.townships.county_arcs;
    // Drawn first in the colours of the indicator shown at start.
    var layer = state.townships = TownshipCanvas.create(
      map, options.townships, fillsOf(options.indicators[options.start]), loadScript);
    pendingBorders = layer.detail ? layer.detail.add : null;
    var hovered = -1, tip = L.tooltip({sticky: true, direction: "auto"}), pending = null, latest = null;
    function hover(event) {
      // Over a site marker or a count, the marker has the pointer.
      var target = event.originalEvent && event.originalEvent.target;
      var overIcon = target && target.closest && target.closest(".leaflet-marker-icon");
      var index = event.sourceTarget === map && !overIcon ? layer.townshipAt(event.latlng) : -1;
      if (index !== hovered) {
        hovered = index;
        layer.highlight(index);
        if (index >= 0) tip.setContent(tooltip(options, state, index));
      }
      if (index >= 0) tip.setLatLng(event.latlng).openOn(map);
      else tip.remove();
    }
    map.on("mousemove", function (event) {
      latest = event;  // once a frame, for where the pointer is last
      if (pending === null) {
        pending = requestAnimationFrame(function () { pending = null; hover(latest); });
      }
    });
    map.on("mouseout", function () { hovered = -1; layer.highlight(-1); tip.remove(); });
    state.resetHover = function () { hovered = -1; tip.remove(); };
    map.on("click", function (event) {
      if (event.sourceTarget !== map) return;
      if (state.onMapClick && state.onMapClick(event)) return;  // the plan editor took the click
      var index = layer.townshipAt(event.latlng);
      if (index >= 0) L.popup({maxWidth: 380}).setLatLng(event.latlng).setContent(popup(options, state, index)).openOn(map);
    });
    if (borders) {
      layer.borders.addTo(map);
      layerControl.addOverlay(layer.borders, options.text.counties);
    }
  }

  /* Zoom to a township and open its popup. */
  function openTownship(map, options, state, index) {
    var bounds = state.townships.bounds(index);
    map.fitBounds(bounds, {maxZoom: 13, animate: false});
    L.popup({maxWidth: 380}).setLatLng(bounds.getCenter()).setContent(popup(options, state, index)).openOn(map);
  }

  function tooltip(options, state, index) {
    var box = element("span");
    townshipHead(options, index, box);
    element("br", "", box);
    var indicator = state.indicator;
    box.appendChild(document.createTextNode(
      indicator.label + ": " + formatValue(indicator, indicator.values[index], options.text)));
    if (state.tooltipExtra) state.tooltipExtra(index, box);
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
    var names = state.detailsPending ? ["…"] : sitesByTownship(options, state)[index] || [];
    line.appendChild(document.createTextNode(": " + (names.join("、") || "—")));
    return box;
  }

  function sitesByTownship(options, state) {
    if (!state.siteNames) {
      state.siteNames = {};
      state.sites.forEach(function (site) {
        if (!(site.township >= 0) || site.hidden) return;
        (state.siteNames[site.township] = state.siteNames[site.township] || []).push(site.name);
      });
    }
    return state.siteNames;
  }

  function fillsOf(indicator) {
    return Array.from(indicator.classes, function (letter) { return indicator.palette[letter.charCodeAt(0) - 97]; });
  }

  function addIndicatorSwitch(map, options, state, panels) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var box = element("div", "tc-legend leaflet-bar");
      panels.add(box, options.text.legend_button);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      element("div", "tc-legend-title", box, options.text.indicator);
      var form = element("form", "tc-indicators", box);
      var legend = element("div", "tc-legend-body", box);
      function show(indicator) {
        state.indicator = indicator;
        state.fills = fillsOf(indicator);
        state.townships.setFills(state.fills);
        legend.innerHTML = indicator.legend_html;  // escaped in Python
        box.setAttribute("data-indicator", indicator.column);
      }
      options.indicators.forEach(function (indicator, index) {
        var label = element("label", "", form);
        var input = element("input", "", label);
        input.type = "radio";
        input.name = "tc-indicator";
        input.value = indicator.column;
        input.checked = index === options.start;
        label.appendChild(document.createTextNode(" " + indicator.label));
        L.DomEvent.on(input, "change", function () { show(indicator); });
      });
      show(options.indicators[options.start]);
      return box;
    };
    control.addTo(map);
  }

  /* Labels of the townships in view, once zoomed in far enough to read them. */
  function addLabels(map, options) {
    var points = TownshipTopology.points(options.labels);
    var names = options.townships.names;
    var labels = L.layerGroup().addTo(map);
    var markers = {}, done = null;
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
      var zoom = map.getZoom();
      if (done && done.zoom === zoom && done.area.contains(map.getBounds())) return;  // a pan inside what is drawn
      labels.clearLayers();
      var view = map.getBounds().pad(0.5), shown = 0;
      done = {zoom: zoom, area: view};
      if (zoom < options.label_min_zoom) return;
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
      var badge = element("span", "tc-badge tc-badge-" + site.symbol);
      element("span", "", badge, site.numbered ? String(item.number) : site.letter || "");
      badge.style.background = site.colour;
      var size = 2 * site.radius + 2;
      marker = L.marker(item.latlng, {
        icon: L.divIcon({className: "tc-badge-icon", html: badge, iconSize: [size, size]}),
      });
    }
    if (item.onClick) {
      marker.on("click", function (event) {
        L.DomEvent.stopPropagation(event);
        item.onClick();
      });
    }
    marker.bindTooltip(function () {
      var name = item.name === undefined ? "…" : item.name;
      return element("span", "", undefined, site.numbered ? item.number + ". " + name : name);
    });
    return marker;
  }

  function addSites(map, layerControl, options, state) {
    state.sites = [];
    state.siteLayers = [];
    state.covering = [];
    state.siteRefresh = [];  // per layer: redraw after items were hidden or shown
    state.siteReplace = {};  // per site type: replace the layer's items
    var byZoom = options.sites.filter(function (site) { return site.by_zoom; });
    options.sites.forEach(function (site) {
      var items = decodeNamedPoints(site);
      if (site.numbered) items.forEach(function (item, i) { item.number = i + 1; });
      state.siteLayers.push(items);
      state.sites = state.sites.concat(items);
      if (site.covers) state.covering = state.covering.concat(items);
      var layer;
      if (site.by_zoom) {
        var slot = byZoom.indexOf(site) - (byZoom.length - 1) / 2;
        layer = byZoomLayer(map, items, function (item) { return siteMarker(site, item); },
                            {colour: site.colour, offset: slot * 30, maxInView: site.max_in_view});
      } else {
        var markers = items.map(function (item) { return siteMarker(site, item); });
        layer = L.featureGroup(markers);
        layer.tcRefresh = function () {
          layer.clearLayers();
          markers.forEach(function (marker, i) { if (!items[i].hidden) layer.addLayer(marker); });
        };
        layer.tcReset = function () {
          markers = items.map(function (item) { return siteMarker(site, item); });
          layer.tcRefresh();
        };
      }
      layer.tcSiteType = site.type;
      layer.tcCount = items.length;
      layer.addTo(map);
      layerControl.addOverlay(layer, site.label_html);  // escaped in Python
      state.siteRefresh.push(function () {
        var shown = items.filter(function (item) { return !item.hidden; }).length;
        layer.tcRefresh();
        relabel(layerControl, layer, '<span class="tc-count">' + shown + "</span>");
      });
      state.siteReplace[site.type] = function (replacement) {
        items.length = 0;
        Array.prototype.push.apply(items, replacement);
        if (site.numbered) items.forEach(function (item, i) { item.number = i + 1; });
        layer.tcReset();
        relabel(layerControl, layer, '<span class="tc-count">' + items.length + "</span>");
        // The lists of all sites and of covering sites are kept in place (the circles hold the latter).
        state.sites.length = 0;
        state.siteLayers.forEach(function (layerItems) { Array.prototype.push.apply(state.sites, layerItems); });
        state.covering.length = 0;
        options.sites.forEach(function (other, k) {
          if (other.covers) Array.prototype.push.apply(state.covering, state.siteLayers[k]);
        });
        if (state.circles) state.circles.tcReset();
        state.siteNames = null;
      };
    });
    if (options.radius) {
      var circles = state.circles = byZoomLayer(map, state.covering, function (item) {
        return L.circle(item.latlng, {
          radius: options.radius.metres, color: "#2b8cbe", weight: 0.6, fillOpacity: 0.06, interactive: false,
        });
      }, {minZoom: RADIUS_MIN_ZOOM});
      layerControl.addOverlay(circles, options.radius.label_html);  // escaped in Python
    }
  }

  /* Show `count` (HTML) as the layer's count in the layer list (Leaflet keeps each entry's name). */
  function relabel(layerControl, layer, count) {
    layerControl._layers.forEach(function (entry) {
      if (entry.layer === layer) entry.name = entry.name.replace(/<span class="tc-count">\d+<\/span>/, count);
    });
    layerControl._update();
  }

  /* Show only the sites for which visible(layer number, item number) is true. */
  function filterSites(state, visible) {
    state.siteLayers.forEach(function (items, k) {
      items.forEach(function (item, i) { item.hidden = !visible(k, i); });
      state.siteRefresh[k]();
    });
    if (state.circles) state.circles.tcRefresh();
    state.siteNames = null;
  }

  /* A count on a by-zoom layer: a circle with its number, drawn on a canvas (hundreds of them
   * redraw at each zoom; as DOM markers they would cost more than the townships). */
  var CountBadge = L.CircleMarker.extend({
    options: {color: "rgba(255,255,255,.85)", weight: 2, fillOpacity: 0.92, opacity: 1},
    _updatePath: function () {
      L.CircleMarker.prototype._updatePath.call(this);
      var ctx = this._renderer._ctx, point = this._point;
      if (!ctx || this._empty()) return;
      ctx.fillStyle = "#fff";
      ctx.font = "bold 11px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(String(this.options.count), point.x, point.y);
    },
  });

  /* The canvas all counts of a map are drawn on, above the sites' pane. */
  function countCanvas(map) {
    if (!map._tcCountCanvas) {
      map.createPane("tcCounts").style.zIndex = 620;
      map._tcCountCanvas = L.canvas({pane: "tcCounts"});
    }
    return map._tcCountCanvas;
  }

  /* A layer of many points that only draws what is in view: counts on a
   * grid of cells while zoomed out (in the layer's colour, shifted by
   * `offset` pixels so that several layers' counts sit side by side), the
   * points themselves (at most MAX_IN_VIEW) once zoomed in to showAtZoom;
   * nothing below minZoom. Clicking a count zooms in on it. */
  function byZoomLayer(map, items, makeMarker, settings) {
    settings = L.extend(
      {minZoom: 0, showAtZoom: BY_ZOOM_SHOW_AT, cell: 90, offset: 0, colour: "#555", maxInView: MAX_IN_VIEW}, settings || {});
    var layer = L.layerGroup(), markers = {}, world = null, done = null;
    function project() {  // pixel positions at zoom 0, computed once
      world = new Float64Array(2 * items.length);
      items.forEach(function (item, i) {
        var point = map.project(item.latlng, 0);
        world[2 * i] = point.x;
        world[2 * i + 1] = point.y;
      });
    }
    function update() {
      if (!map.hasLayer(layer)) return;
      var zoom = map.getZoom();
      if (done && done.zoom === zoom && done.area.contains(map.getPixelBounds())) return;  // a pan inside what is drawn
      layer.clearLayers();
      var view = map.getPixelBounds().pad(0.1);
      done = {zoom: zoom, area: view};
      if (zoom < settings.minZoom) return;
      if (!world) project();
      var scale = Math.pow(2, zoom);
      var x0 = view.min.x, y0 = view.min.y, x1 = view.max.x, y1 = view.max.y;
      var inView = [];
      for (var i = 0; i < items.length; i++) {
        if (items[i].hidden) continue;
        var x = world[2 * i] * scale, y = world[2 * i + 1] * scale;
        if (x >= x0 && x <= x1 && y >= y0 && y <= y1) inView.push(i);
      }
      if (zoom >= settings.showAtZoom || inView.length <= settings.maxInView) {
        inView.slice(0, MAX_IN_VIEW).forEach(function (i) {
          layer.addLayer(markers[i] || (markers[i] = makeMarker(items[i])));
        });
        return;
      }
      // Counts per grid cell, at the cell's centre; each layer has its own place in the cell.
      var cells = {}, size = settings.cell;
      inView.forEach(function (i) {
        var key = Math.floor(world[2 * i] * scale / size) + ":" + Math.floor(world[2 * i + 1] * scale / size);
        cells[key] = (cells[key] || 0) + 1;
      });
      Object.keys(cells).forEach(function (key) {
        var parts = key.split(":"), count = cells[key];
        var centre = L.point((+parts[0] + 0.5) * size + settings.offset, (+parts[1] + 0.5) * size);
        var latlng = map.unproject(centre, zoom);
        var badge = new CountBadge(latlng, {
          count: count, radius: count < 10 ? 11 : count < 100 ? 13 : count < 1000 ? 16 : 19,
          fillColor: settings.colour, renderer: countCanvas(map),
        });
        badge.on("click", function () { map.setView(latlng, Math.min(zoom + 2, settings.showAtZoom)); });
        layer.addLayer(badge);
      });
    }
    layer.on("add", function () { done = null; map.on("moveend", update); update(); });
    layer.tcRefresh = function () { done = null; update(); };
    layer.tcReset = function () { world = null; markers = {}; layer.tcRefresh(); };  // after the items changed
    layer.on("remove", function () { map.off("moveend", update); });
    return layer;
  }

  /* Panels that fold to buttons while the map is small, one open at a time.
   * add(box, label) gives a panel its button; update() folds or unfolds
   * them all for the map's size (called again when the map is resized).
   * The layer list has Leaflet's own button and is folded with the rest. */
  function foldingPanels(map, layerControl) {
    var boxes = [], compact = null;
    function setOpen(box, open) {
      L.DomUtil[open ? "addClass" : "removeClass"](box, "tc-open");
      box.firstChild.setAttribute("aria-expanded", String(open));
    }
    function closeAll(except) {
      boxes.forEach(function (box) { if (box !== except) setOpen(box, false); });
      if (compact && except !== layerControl) layerControl.collapse();
    }
    function update() {
      var size = map.getSize(), small = size.x < COMPACT_WIDTH || size.y < COMPACT_HEIGHT;
      if (small === compact) return;
      compact = small;
      L.DomUtil[compact ? "addClass" : "removeClass"](map.getContainer(), "tc-compact");
      layerControl.options.collapsed = compact;  // else adding a layer unfolds the list again
      if (compact) closeAll(null);
      else layerControl.expand();
    }
    var layersButton = layerControl.getContainer().querySelector(".leaflet-control-layers-toggle");
    L.DomEvent.on(layersButton, "click", function () { closeAll(layerControl); });
    map.on("click", function () { if (compact) closeAll(null); });
    map.on("resize", update);
    return {
      add: function (box, label) {
        var button = element("a", "tc-panel-button");
        button.textContent = label;
        button.href = "#";
        button.setAttribute("role", "button");
        box.insertBefore(button, box.firstChild);
        L.DomUtil.addClass(box, "tc-panel");
        L.DomEvent.on(button, "click", function (event) {
          L.DomEvent.preventDefault(event);
          var open = !L.DomUtil.hasClass(box, "tc-open");
          closeAll(box);
          setOpen(box, open);
          box.style.maxHeight = Math.round(COMPACT_PANEL_HEIGHT * map.getSize().y) + "px";
        });
        boxes.push(box);
      },
      update: update,
    };
  }

  /* A scale in metres and kilometres only, in the page's language. */
  function addScale(map, text) {
    var scale = L.control.scale({imperial: false, position: "bottomleft"});
    scale._updateMetric = function (maxMeters) {
      var meters = this._getRoundNum(maxMeters);
      var label = meters < 1000 ? meters + " " + text.metre : meters / 1000 + " " + text.kilometre;
      this._updateScale(this._mScale, label, meters / maxMeters);
    };
    scale.addTo(map);
  }

  /* The notices (schematic data, rows left out) and, while the map is small, the sources. */
  function addInfo(map, options, panels) {
    var info = options.info;
    if (!info.notices.length && !info.sources) return;
    var control = L.control({position: "topleft"});
    control.onAdd = function () {
      var box = element("div", "tc-info");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      panels.add(box, info.label);
      if (info.notices.length) {
        var notice = element("div", "tc-notice", box);
        notice.setAttribute("role", "note");
        info.notices.forEach(function (line) { element("div", "", notice, line); });
      }
      if (info.sources) element("div", "tc-sources", box, options.text.sources + ": " + info.sources);
      return box;
    };
    control.addTo(map);
  }

  /* The summary box of a plan's page: rows of label and value. */
  function addSummary(map, options, panels) {
    var summary = options.summary;
    if (!summary) return;
    var control = L.control({position: "bottomleft"});
    control.onAdd = function () {
      var box = element("div", "tc-summary leaflet-bar");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      panels.add(box, summary.title);
      element("div", "tc-legend-title", box, summary.title);
      var table = element("table", "", box);
      summary.rows.forEach(function (row) {
        var line = element("tr", "", table);
        line.setAttribute("data-key", row[0]);
        element("td", "", line, row[1]);
        element("td", "", line, row[2]);
      });
      return box;
    };
    control.addTo(map);
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
    state.resetSearch = function () { entries = null; };
    function searchEntries() {  // built at the first search, not at load
      if (entries) return entries;
      entries = t.names.map(function (name, index) {
        return {name: name, detail: t.county_names[t.county[index]], kind: "township", index: index};
      });
      var villages = options.villages || readData(options.data_id + "-villages");
      if (villages) {
        decodeNamedPoints(villages).forEach(function (item) {
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
          openTownship(map, options, state, entry.index);
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
        if (state.detailsPending || state.detailsMissing) {
          element("li", "tc-none", list, state.detailsMissing ? options.text.details_missing : options.text.details_loading);
        }
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

  /* The JSON data element with this id (null when there is none). */
  function readData(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  var timings = {};
  function timed(name, step) {
    var start = performance.now();
    step();
    timings[name] = Math.round(performance.now() - start);
  }

  /* Add a script kept beside the page (map_data/…); failed() if it cannot be read. */
  function loadScript(src, failed) {
    var script = document.createElement("script");
    script.src = src;
    script.onerror = failed;
    document.head.appendChild(script);
  }

  /* Names of villages and sites kept beside a large map: loaded once the map is drawn. */
  var pendingDetails = null, pendingBorders = null;
  function loadDetails(options, state) {
    state.detailsPending = true;
    pendingDetails = function (details) {
      details.sites.forEach(function (named, k) { setNames(state.siteLayers[k], named); });
      options.villages = details.villages;
      state.siteNames = null;
      state.detailsPending = false;
      (state.detailsWaiting || []).forEach(function (then) { then(); });
      if (state.resetSearch) state.resetSearch();
      document.documentElement.setAttribute("data-tc-details", "1");
    };
    loadScript(options.details_file, function () {
      state.detailsPending = false;
      state.detailsMissing = true;
    });
  }

  window.TownshipCoverage = {
    /* Milliseconds each step of init took (for the benchmark). */
    timings: timings,
    /* Zoom to the township with this code and open its popup (set by init). */
    openTownship: null,
    /* The townships drawn: codes, fills(), latlngs(index), at(lat, lng), detail() (the finer borders'
     * {requested, loaded, failed} cells, or null) (set by init; for tests). */
    townships: null,
    /* What timeline.js needs (set by init): map, options, values(text) (decoded indicator values),
     * restyle() (after the current indicator's classes or values changed), filterSites(visible)
     * (show only the sites for which visible(layer number, item number) is true). */
    page: null,
    /* Called by the details script. */
    details: function (details) {
      if (pendingDetails) pendingDetails(details);
    },
    /* Called by each script of finer borders. */
    borders: function (cell) {
      if (pendingBorders) pendingBorders(cell);
    },
    init: function (map, layerControl, dataId) {
      timings.start = Math.round(performance.now());
      var options;
      timed("data", function () { options = readData(dataId); });
      options.data_id = dataId;
      // Without a tile layer Folium sets no zoom range.
      // (Set as options: setMinZoom would start an animation racing fitBounds.)
      if (map.options.maxZoom === undefined) map.options.maxZoom = 18;
      if (map.options.minZoom === undefined) map.options.minZoom = 3;
      map.fitBounds(options.bounds);
      var state = {}, panels = foldingPanels(map, layerControl);
      addScale(map, options.text);
      decodeTownships(options.townships);
      options.indicators.forEach(decodeValues);
      timed("townships", function () { addTownships(map, layerControl, options, state); });
      timed("indicators", function () { addIndicatorSwitch(map, options, state, panels); });
      timed("sites", function () { addSites(map, layerControl, options, state); });
      timed("labels", function () { addLabels(map, options); });
      addButtons(map, options);
      addSearch(map, options, state);
      addInfo(map, options, panels);
      addSummary(map, options, panels);
      panels.update();  // after every layer is in the layer list
      window.TownshipCoverage.openTownship = function (code) {
        var index = options.townships.codes.indexOf(String(code));
        if (index >= 0) openTownship(map, options, state, index);
      };
      window.TownshipCoverage.townships = {
        codes: options.townships.codes,
        fills: function () { return state.fills.slice(); },
        latlngs: function (index) { return state.townships.latlngs(index); },
        at: function (lat, lng) { return state.townships.townshipAt(L.latLng(lat, lng)); },
        detail: function () { return state.townships.detail && state.townships.detail.status; },
      };
      window.TownshipCoverage.page = {
        map: map,
        layerControl: layerControl,
        options: options,
        values: values,
        restyle: function () {
          state.fills = fillsOf(state.indicator);
          state.townships.setFills(state.fills);
          state.resetHover();
        },
        filterSites: function (visible) { filterSites(state, visible); },
        /* For planner.js: replace the sites of a type by other items ({latlng, name, township, onClick}),
         * take map clicks first (onMapClick(event) returns true when it used the click), add lines to the
         * township tooltip (tooltipExtra(index, box)), and the indicator shown. */
        setSites: function (type, items) { state.siteReplace[type](items); },
        setMapClick: function (onMapClick) { state.onMapClick = onMapClick; },
        setTooltipExtra: function (tooltipExtra) { state.tooltipExtra = tooltipExtra; },
        indicator: function () { return state.indicator; },
        /* The villages (search data: points, names, townships), to then(villages) once in the page. */
        villages: function (then) {
          if (!options.villages) options.villages = readData(options.data_id + "-villages");
          if (options.villages || !state.detailsPending) then(options.villages);
          else (state.detailsWaiting = state.detailsWaiting || []).push(function () { then(options.villages); });
        },
      };
      map.getContainer().setAttribute("data-tc-ready", "1");
      if (options.details_file) {
        // After the first drawing: the names are not needed to see the map.
        state.detailsPending = true;
        var later = function () { setTimeout(function () { loadDetails(options, state); }, 50); };
        if (document.readyState === "complete") later();
        else window.addEventListener("load", later);
      }
    },
  };
})();
