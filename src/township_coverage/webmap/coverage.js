/* township-coverage: interactive parts of the coverage map.
 *
 * TownshipCoverage.init(options) adds to a Leaflet map built by Folium:
 * the indicator switch and its legend, township labels shown when zoomed
 * in, site layers (community rooms clustered), optional coverage circles,
 * search by township or village name, full screen and reset-view buttons.
 *
 * Text that comes from the data is only ever put into the page with
 * textContent, or is HTML that Python escaped already (tips, popups,
 * legends), so names cannot inject markup or script.
 */
(function () {
  "use strict";

  function element(tag, className, parent, text) {
    var node = L.DomUtil.create(tag, className || "", parent);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function addIndicatorSwitch(map, townships, options) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var box = element("div", "tc-legend leaflet-bar");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      element("div", "tc-legend-title", box, options.text.indicator);
      var form = element("form", "tc-indicators", box);
      var legend = element("div", "tc-legend-body", box);
      function show(indicator) {
        townships.setStyle(function (feature) {
          return {fillColor: feature.properties.fills[indicator.column]};
        });
        townships.eachLayer(function (shape) {
          shape.unbindTooltip();
          shape.bindTooltip(shape.feature.properties.tips[indicator.column], {sticky: true});
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

  function addLabels(map, options) {
    var labels = L.layerGroup(options.labels.map(function (item) {
      var text = element("span", "tc-label-text", undefined, item[2]);
      return L.marker([item[0], item[1]], {
        icon: L.divIcon({className: "tc-label", html: text, iconSize: null}),
        interactive: false,
        keyboard: false,
      });
    }));
    function update() {
      if (map.getZoom() >= options.label_min_zoom) labels.addTo(map);
      else labels.remove();
    }
    map.on("zoomend", update);
    update();
  }

  function siteMarker(site, item) {
    var latlng = [item[0], item[1]];
    var marker;
    if (site.symbol === "circle" || site.symbol === "dot") {
      marker = L.circleMarker(latlng, {
        radius: site.radius, color: "#ffffff", weight: 1, fillColor: site.colour, fillOpacity: 0.95,
      });
    } else {
      var badge = element("span", "tc-badge tc-badge-" + site.symbol, undefined, site.letter || "");
      badge.style.background = site.colour;
      var size = 2 * site.radius + 2;
      marker = L.marker(latlng, {
        icon: L.divIcon({className: "tc-badge-icon", html: badge, iconSize: [size, size]}),
      });
    }
    var tip = element("span", "", undefined, item[2]);
    marker.bindTooltip(tip);
    return marker;
  }

  function addSites(map, layerControl, options) {
    options.sites.forEach(function (site) {
      var markers = site.points.map(function (item) { return siteMarker(site, item); });
      var layer = site.cluster && L.markerClusterGroup
        ? L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 40, disableClusteringAtZoom: 12})
        : L.featureGroup();
      markers.forEach(function (marker) { layer.addLayer(marker); });
      layer.tcSiteType = site.type;
      layer.addTo(map);
      layerControl.addOverlay(layer, site.label_html);  // escaped in Python
    });
    if (options.radius) {
      var circles = L.featureGroup(options.radius.points.map(function (item) {
        return L.circle([item[0], item[1]], {
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

  function addSearch(map, townships, options) {
    var shapes = {};
    townships.eachLayer(function (shape) { shapes[shape.feature.properties.township_code] = shape; });
    var entries = options.townships.map(function (item) {
      return {name: item[1], detail: item[2], kind: "township", code: item[0]};
    }).concat(options.villages.map(function (item) {
      return {name: item[0], detail: item[1], kind: "village", latlng: [item[2], item[3]]};
    }));
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
          var shape = shapes[entry.code];
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
        entries.forEach(function (entry) {
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
    init: function (map, townships, layerControl, options) {
      // Without a tile layer Folium sets no zoom range; clustering needs one.
      // (Set as options: setMinZoom would start an animation racing fitBounds.)
      if (map.options.maxZoom === undefined) map.options.maxZoom = 18;
      if (map.options.minZoom === undefined) map.options.minZoom = 4;
      map.fitBounds(options.bounds);
      addIndicatorSwitch(map, townships, options);
      addSites(map, layerControl, options);
      addLabels(map, options);
      addButtons(map, options);
      addSearch(map, townships, options);
      map.getContainer().setAttribute("data-tc-ready", "1");
    },
  };
})();
