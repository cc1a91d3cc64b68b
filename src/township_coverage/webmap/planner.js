/* township-coverage: the what-if editor of a plan's page (plan.html).
 *
 * TownshipPlanner.init(page) makes the plan's summary box live, on a page
 * that coverage.js set up (TownshipCoverage.page). The scenario is a list
 * of villages that get a room, in opening order: at first the solver's
 * plan. A slider shows its first k rooms; clicking a village (zoomed in)
 * adds a room there, clicking a proposed room removes it. At each change
 * the covered share and people, the villages newly covered, the figures
 * per county (a table in the box) and per township (in its tooltip) are
 * computed again, the townships are coloured by their new covered share,
 * and the newly covered villages are drawn. The scenario downloads as a
 * CSV file (UTF-8 with BOM) that `plan --fixed FILE` reads back.
 *
 * The page carries, for each candidate village, the villages it reaches
 * within the radius that no existing site covers (plan_page.editor_settings
 * in Python): per candidate their number, then their positions as steps.
 * A village is covered when some room of the scenario reaches it. Both
 * kinds of village are positions in the page's list of villages (the
 * search's), which has their points, names and townships; on a large map
 * that list comes with the names from beside the page, and the editor
 * starts once it is there.
 *
 * Names from the data are only ever put in with textContent.
 */
(function () {
  "use strict";

  var CANDIDATE_MIN_ZOOM = 11;  // candidate villages are drawn, and clicks add rooms, from this zoom on
  var CLICK_PIXELS = 10;  // a click this close to a candidate village toggles a room there
  var MAX_DRAWN = 3000;  // points a layer draws at once (those in view)

  function element(tag, className, parent, text) {
    var node = L.DomUtil.create(tag, className || "", parent);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function varints(text) { return TownshipTopology.varints(text); }

  /* Numbers sent as varint text (whole, non-negative) or as a list. */
  function numbers(value) {
    return typeof value === "string" ? varints(value) : Float64Array.from(value);
  }

  /* Village codes sent as text, or as steps between whole numbers. */
  function codes(value) {
    if (Array.isArray(value)) return value;
    var code = 0;
    return Array.from(varints(value.steps), function (step) {
      code += TownshipTopology.unzigzag(step);
      return String(code);
    });
  }

  /* Rounded to a whole number, halves to even (as Python rounds the values Python shows). */
  function roundHalfEven(value) {
    var rounded = Math.round(value);
    return value % 1 === 0.5 && rounded % 2 ? rounded - 1 : rounded;
  }

  function share(part, whole) { return whole > 0 ? part / whole : NaN; }
  function percent(value) { return isNaN(value) ? "—" : (roundHalfEven(1000 * value) / 10).toFixed(1) + "%"; }
  function whole(value) { return Math.round(value).toLocaleString("en-US"); }
  function withUnit(number, unit) { return unit ? number + " " + unit : number; }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) { return values[key]; });
  }

  /* A field of a CSV file, quoted when it needs to be. */
  function csvField(value) {
    var text = String(value);
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  /* A name as a CSV field: one that a spreadsheet would take for a formula (=, +, -, @ first) gets an apostrophe. */
  function csvName(name) {
    return csvField(/^[=+\-@]/.test(name) ? "'" + name : name);
  }

  /* Positions in a list, sent as zigzag steps from one to the next. */
  function positions(text) {
    var at = 0;
    return Array.from(varints(text), function (step) { return at += TownshipTopology.unzigzag(step); });
  }

  /* The page's data for the editor, decoded; candidates and demand villages are villages of the page's list. */
  function decode(data, villages) {
    var latlngs = TownshipTopology.points(villages), township = varints(villages.township);
    var candidates = positions(data.candidates.villages), demand = positions(data.demand.villages);
    var counts = varints(data.reach.counts), steps = varints(data.reach.steps);
    var starts = new Int32Array(counts.length + 1), reach = new Int32Array(steps.length);
    // A candidate's first village is a step from the first of the candidate before, the others from the one before.
    for (var c = 0, k = 0, first = 0; c < counts.length; c++) {
      starts[c + 1] = starts[c] + counts[c];
      if (k < starts[c + 1]) reach[k] = first += TownshipTopology.unzigzag(steps[k++]);
      for (; k < starts[c + 1]; k++) reach[k] = reach[k - 1] + TownshipTopology.unzigzag(steps[k]);
    }
    return {
      latlngs: candidates.map(function (v) { return latlngs[v]; }),
      names: candidates.map(function (v) { return villages.names[v]; }),
      codes: codes(data.candidates.codes),
      township: candidates.map(function (v) { return township[v] - 1; }),
      starts: starts,
      reach: reach,
      demandLatlngs: demand.map(function (v) { return latlngs[v]; }),
      demandTownship: demand.map(function (v) { return township[v] - 1; }),
      weight: numbers(data.demand.weight),
      townshipWeight: numbers(data.township_weight),
      townshipCovered: numbers(data.township_covered),
      plan: Array.from(varints(data.plan)),
    };
  }

  /* The figures of the first `shown` rooms of `order` (candidate numbers). */
  function compute(model, townships, order, shown) {
    var covered = new Uint8Array(model.weight.length), gains = [];
    var nTownships = townships.names.length, gained = new Float64Array(nTownships), rooms = new Int32Array(nTownships);
    var newly = 0, villages = 0;
    order.slice(0, shown).forEach(function (c) {
      var gain = 0;
      for (var k = model.starts[c]; k < model.starts[c + 1]; k++) {
        var d = model.reach[k];
        if (covered[d]) continue;
        covered[d] = 1;
        gain += model.weight[d];
        villages += 1;
        if (model.demandTownship[d] >= 0) gained[model.demandTownship[d]] += model.weight[d];
      }
      gains.push(gain);
      newly += gain;
      if (model.township[c] >= 0) rooms[model.township[c]] += 1;
    });
    var total = 0, before = 0;
    model.townshipWeight.forEach(function (w) { total += w; });
    model.townshipCovered.forEach(function (w) { before += w; });
    var counties = townships.county_names.map(function () { return [0, 0, 0, 0]; });
    for (var t = 0; t < nTownships; t++) {
      var row = counties[townships.county[t]];
      row[0] += model.townshipWeight[t];
      row[1] += model.townshipCovered[t];
      row[2] += model.townshipCovered[t] + gained[t];
      row[3] += rooms[t];
    }
    return {
      order: order.slice(0, shown), gains: gains, total: total, before: before, after: before + newly,
      newly: newly, villages: villages, covered: covered, gained: gained, rooms: rooms, counties: counties,
    };
  }

  window.TownshipPlanner = {
    /* The figures shown (set by init; for tests): rooms (village codes in order), gains, total, before,
     * after, villages (newly covered), townships {code: [weight, before, after, rooms]} (those with
     * villages or rooms), counties {name: [...]}. */
    figures: null,
    init: function (page) {
      if (page.options.planner) page.villages(function (villages) { if (villages) start(page, villages); });
    },
  };

  function start(page, villages) {
    var options = page.options, data = options.planner, map = page.map;
    var text = data.text, townships = options.townships, model = decode(data, villages);
    var coverage = options.indicators[options.start];
    var order = model.plan.slice(), shown = order.length, edited = false, current = null;

    var box = map.getContainer().querySelector(".tc-summary");
    L.DomUtil.addClass(box, "tc-planner");
    var rows = {};
    box.querySelectorAll("tr[data-key]").forEach(function (row) { rows[row.getAttribute("data-key")] = row; });
    if (data.weight === "population") {  // the villages newly covered, below the people
      var row = document.createElement("tr");
      row.setAttribute("data-key", "villages_newly");
      element("td", "", row, text.villages_newly);
      element("td", "", row);
      rows.newly_covered.parentNode.insertBefore(row, rows.newly_covered.nextSibling);
      rows.villages_newly = row;
    }
    var sliderBox = element("div", "tc-planner-slider");
    box.insertBefore(sliderBox, box.querySelector("table"));
    var sliderLabel = element("div", "", sliderBox);
    var slider = element("input", "", sliderBox);
    slider.type = "range";
    slider.min = "0";
    slider.setAttribute("aria-label", text.rooms);
    L.DomEvent.on(slider, "input", function () {
      shown = +slider.value;
      refresh();
    });
    var counties = element("div", "tc-planner-counties", box);
    element("div", "tc-planner-hint", box, text.hint);
    var actions = element("div", "tc-planner-actions", box);
    var exportLink = element("a", "tc-planner-export", actions, text.export);
    exportLink.href = "#";
    exportLink.download = text.file;
    L.DomEvent.on(exportLink, "click", function () {
      if (exportLink.href.indexOf("blob:") === 0) URL.revokeObjectURL(exportLink.href);
      exportLink.href = URL.createObjectURL(new Blob(["\ufeff" + scenarioCsv()], {type: "text/csv;charset=utf-8"}));
    });
    var resetLink = element("a", "tc-planner-reset", actions, text.reset);
    resetLink.href = "#";
    resetLink.setAttribute("role", "button");
    L.DomEvent.on(resetLink, "click", function (event) {
      L.DomEvent.preventDefault(event);
      order = model.plan.slice();
      shown = order.length;
      edited = false;
      refresh();
    });

    function scenarioCsv() {
      var lines = [data.headers.map(csvField).join(",")];
      order.slice(0, shown).forEach(function (c, i) {
        var t = model.township[c];
        lines.push([
          csvField(model.codes[c]), csvName(model.names[c]), csvName(t >= 0 ? townships.names[t] : ""),
          csvName(t >= 0 ? townships.county_names[townships.county[t]] : ""), i + 1,
        ].join(","));
      });
      return lines.join("\r\n") + "\r\n";
    }

    /* Add a room at village c (after the rooms shown), or remove it when it is one of them. */
    function toggle(c) {
      var at = order.indexOf(c);
      if (at >= 0) order.splice(at, 1);
      if (at >= 0 && at < shown) {
        shown -= 1;
      } else {
        order.splice(shown, 0, c);
        shown += 1;
      }
      edited = true;
      refresh();
    }

    // Candidate villages (zoomed in, to click) and the newly covered villages, drawn for the view.
    var canvas = L.canvas({padding: 0.2});
    function swatch(colour, label) {
      var name = element("span");
      element("span", "tc-symbol", name).style.cssText = "background:" + colour + ";border-radius:50%";
      name.appendChild(document.createTextNode(label));
      return name.innerHTML;
    }
    var candidateLayer = L.layerGroup().addTo(map), newlyLayer = L.layerGroup().addTo(map);
    page.layerControl.addOverlay(candidateLayer, swatch("#ffffff", text.candidates));
    page.layerControl.addOverlay(newlyLayer, swatch("#f768a1", text.newly_layer));
    function inView(latlngs, wanted) {
      var view = map.getBounds().pad(0.2), found = [];
      for (var i = 0; i < latlngs.length && found.length < MAX_DRAWN; i++) {
        if (wanted(i) && view.contains(latlngs[i])) found.push(i);
      }
      return found;
    }
    function draw() {
      candidateLayer.clearLayers();
      newlyLayer.clearLayers();
      if (map.getZoom() >= CANDIDATE_MIN_ZOOM) {
        var chosen = {};
        current.order.forEach(function (c) { chosen[c] = true; });
        inView(model.latlngs, function (c) { return !chosen[c]; }).forEach(function (c) {
          candidateLayer.addLayer(L.circleMarker(model.latlngs[c], {
            radius: 4, color: "#555", weight: 1, fillColor: "#fff", fillOpacity: 0.9, interactive: false, renderer: canvas,
          }));
        });
      }
      inView(model.demandLatlngs, function (d) { return current.covered[d]; }).forEach(function (d) {
        newlyLayer.addLayer(L.circleMarker(model.demandLatlngs[d], {
          radius: 3, color: "#ffffff", weight: 1, fillColor: "#f768a1", fillOpacity: 0.95, interactive: false, renderer: canvas,
        }));
      });
    }
    map.on("moveend", draw);

    page.setMapClick(function (event) {
      if (!map.hasLayer(candidateLayer) || map.getZoom() < CANDIDATE_MIN_ZOOM) return false;
      var best = -1, bestDistance = CLICK_PIXELS, view = map.getBounds();
      for (var c = 0; c < model.latlngs.length; c++) {
        if (!view.contains(model.latlngs[c])) continue;
        var distance = map.latLngToContainerPoint(model.latlngs[c]).distanceTo(event.containerPoint);
        if (distance <= bestDistance) {
          best = c;
          bestDistance = distance;
        }
      }
      if (best < 0) return false;
      toggle(best);
      return true;
    });

    page.setTooltipExtra(function (t, tip) {
      var weight = model.townshipWeight[t];
      if (!(weight > 0) && !current.rooms[t]) return;
      element("br", "", tip);
      var before = model.townshipCovered[t];
      tip.appendChild(document.createTextNode(fill(text.tooltip, {
        before: percent(share(before, weight)), after: percent(share(before + current.gained[t], weight)),
        newly: withUnit(whole(current.gained[t]), text.units[data.weight]), rooms: current.rooms[t],
      })));
    });

    /* The townships coloured by their covered share now (the page opens on it), with the page's classes. */
    function recolour() {
      var letters = [];
      for (var t = 0; t < townships.names.length; t++) {
        var value = share(model.townshipCovered[t] + current.gained[t], model.townshipWeight[t]);
        if (isNaN(value)) {
          letters.push(coverage.classes[t]);
          continue;
        }
        coverage.values[t] = roundHalfEven(100 * value);
        var k = 0;
        while (k < data.bounds.length - 1 && data.bounds[k] < value) k++;
        var colour = data.colours[k], at = coverage.palette.indexOf(colour);
        if (at < 0) at = coverage.palette.push(colour) - 1;
        letters.push(String.fromCharCode(97 + at));
      }
      coverage.classes = letters.join("");
      if (page.indicator() === coverage) page.restyle();
    }

    function countyTable() {
      counties.textContent = "";
      var table = element("table", "", counties), head = element("tr", "", table);
      [text.county, text.county_share, text.county_gain, text.county_rooms].forEach(function (label) {
        element("th", "", head, label);
      });
      current.counties.forEach(function (figures, k) {
        if (!figures[3] && figures[2] === figures[1]) return;  // no room, nothing gained
        var row = element("tr", "", table);
        row.setAttribute("data-county", townships.county_names[k]);
        element("td", "", row, townships.county_names[k]);
        element("td", "", row, percent(share(figures[1], figures[0])) + " → " + percent(share(figures[2], figures[0])));
        element("td", "", row, whole(figures[2] - figures[1]));
        element("td", "", row, String(figures[3]));
      });
    }

    function refresh() {
      current = compute(model, townships, order, shown);
      slider.max = String(order.length);
      slider.value = String(shown);
      sliderLabel.textContent = fill(text.slider, {k: shown, n: order.length});
      var units = text.units;
      rows.share.cells[1].textContent = percent(share(current.before, current.total)) + " → " +
        percent(share(current.after, current.total));
      rows.newly_covered.cells[1].textContent = withUnit(whole(current.newly), units[data.weight]);
      if (rows.villages_newly) rows.villages_newly.cells[1].textContent = withUnit(whole(current.villages), units.villages);
      rows.rooms.cells[1].textContent = withUnit(whole(shown), units.rooms);
      rows.method.cells[1].textContent = data.method + (edited ? text.edited : "");
      countyTable();
      recolour();
      page.setSites("proposed_room", current.order.map(function (c) {
        return {latlng: model.latlngs[c], name: model.names[c] + text.room_suffix, township: model.township[c],
                onClick: function () { toggle(c); }};
      }));
      draw();
      publish();
    }

    function publish() {
      var perTownship = {}, perCounty = {};
      townships.codes.forEach(function (code, t) {
        if (model.townshipWeight[t] > 0 || current.rooms[t]) {
          perTownship[code] = [model.townshipWeight[t], model.townshipCovered[t],
                               model.townshipCovered[t] + current.gained[t], current.rooms[t]];
        }
      });
      current.counties.forEach(function (figures, k) { perCounty[townships.county_names[k]] = figures.slice(); });
      window.TownshipPlanner.figures = {
        rooms: current.order.map(function (c) { return model.codes[c]; }), gains: current.gains.slice(),
        total: current.total, before: current.before, after: current.after, villages: current.villages,
        townships: perTownship, counties: perCounty,
      };
      box.setAttribute("data-rooms", String(shown));
    }

    refresh();
  }
})();
