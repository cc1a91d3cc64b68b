/* township-coverage: the time slider of a timeline map.
 *
 * TownshipTimeline.init(page) adds, to a page that coverage.js set up
 * (page = TownshipCoverage.page), a panel with the chosen step's date, a
 * range input over the steps with their labels, and previous / play / next
 * buttons. Choosing a step puts that step's class letters and values in
 * every indicator (so the fills, tooltips and popups show that step; the
 * classes are the same at every step), and shows only the sites open on
 * the step's day: those with no opening day or one on or before it, and no
 * closing day or one after it. Days are numbers (days since 1970-01-01).
 *
 * Labels and dates are put into the page with textContent only.
 */
(function () {
  "use strict";

  var PLAY_EVERY_MS = 1500;
  var MAX_LABELS = 4;  // step labels written under the slider (the chosen step's date is always shown)

  function element(tag, className, parent, text) {
    var node = L.DomUtil.create(tag, className || "", parent);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* Day numbers of one date column: 0 is unknown (null), else the zigzag of the day plus one. */
  function days(text) {
    return Array.from(TownshipTopology.varints(text), function (code) {
      return code === 0 ? null : TownshipTopology.unzigzag(code - 1);
    });
  }

  function isOpen(opened, closed, day) {
    return (opened === null || opened <= day) && (closed === null || day < closed);
  }

  /* Put step k's class letters and values into the page's indicators (values decoded once). */
  function useStep(page, timeline, k) {
    page.options.indicators.forEach(function (indicator, i) {
      var steps = timeline.indicators[i];
      if (typeof steps.values[k] === "string") steps.values[k] = page.values(steps.values[k]);
      indicator.classes = steps.classes[k];
      indicator.values = steps.values[k];
    });
    page.restyle();
    var day = timeline.steps[k].day;
    page.filterSites(function (layer, item) {
      var dates = timeline.sites[layer];
      return isOpen(dates.opened[item], dates.closed[item], day);
    });
  }

  function addPanel(page, timeline) {
    var text = page.options.text, steps = timeline.steps, playing = null;
    var control = L.control({position: "bottomleft"});
    var box, date, slider, play, marks;
    function show(k) {
      k = Math.max(0, Math.min(steps.length - 1, k));
      slider.value = String(k);
      slider.setAttribute("aria-valuetext", steps[k].label);
      date.textContent = steps[k].as_of;
      marks.forEach(function (mark, m) { mark.classList.toggle("tc-current", m === k); });
      page.map.closePopup();
      useStep(page, timeline, k);
      box.setAttribute("data-step", String(k));
      return k;
    }
    function name(node, symbol, title) {
      node.textContent = symbol;
      node.title = title;
      node.setAttribute("aria-label", title);
    }
    function stop() {
      if (playing !== null) clearInterval(playing);
      playing = null;
      name(play, "▶", text.play);
    }
    function button(symbol, title, action) {
      var node = element("button");
      node.type = "button";
      name(node, symbol, title);
      L.DomEvent.on(node, "click", action);
      return node;
    }
    control.onAdd = function () {
      box = element("div", "tc-timeline leaflet-bar");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      date = element("div", "tc-timeline-date", box);
      date.setAttribute("aria-live", "polite");
      var row = element("div", "tc-timeline-row", box);
      row.appendChild(button("‹", text.previous, function () { stop(); show(+slider.value - 1); }));
      play = button("▶", text.play, function () {
        if (playing !== null) { stop(); return; }
        if (+slider.value >= steps.length - 1) show(0);
        name(play, "⏸", text.pause);
        playing = setInterval(function () {
          if (show(+slider.value + 1) >= steps.length - 1) stop();
        }, PLAY_EVERY_MS);
      });
      row.appendChild(play);
      slider = element("input", "tc-timeline-slider", row);
      slider.type = "range";
      slider.min = "0";
      slider.max = String(steps.length - 1);
      slider.step = "1";
      slider.setAttribute("aria-label", text.timeline);
      L.DomEvent.on(slider, "input", function () { stop(); show(+slider.value); });
      row.appendChild(button("›", text.next, function () { stop(); show(+slider.value + 1); }));
      // Labels under the slider at their steps' places: at most MAX_LABELS, always the last, none too close to it.
      var labels = element("div", "tc-timeline-steps", box), every = Math.ceil((steps.length - 1) / (MAX_LABELS - 1)) || 1;
      marks = steps.map(function (step, k) {
        var mark = element("span", "", labels, step.label);
        mark.style.left = (steps.length > 1 ? 100 * k / (steps.length - 1) : 50) + "%";
        var last = steps.length - 1;
        if ((k % every || last - k < every) && k !== last) mark.style.display = "none";
        L.DomEvent.on(mark, "click", function () { stop(); show(k); });
        return mark;
      });
      return box;
    };
    control.addTo(page.map);
    hideOverlappingMarks(marks);
    show(timeline.start);
  }

  /* Hide the shown step labels that would overlap their neighbours (long labels such as 2021年第1季度末):
     the last label stays, the others are kept from the first on while they leave room. */
  function hideOverlappingMarks(marks) {
    var GAP = 6, shown = marks.filter(function (mark) { return mark.style.display !== "none"; });
    if (shown.length < 2) return;
    var box = function (mark) { return mark.getBoundingClientRect(); };
    var lastBox = box(shown[shown.length - 1]), right = -Infinity;
    shown.slice(0, -1).forEach(function (mark) {
      var edges = box(mark);
      if (edges.left < right + GAP || edges.right > lastBox.left - GAP) mark.style.display = "none";
      else right = edges.right;
    });
  }

  window.TownshipTimeline = {
    init: function (page) {
      var timeline = page.options.timeline;
      timeline.sites.forEach(function (layer) {
        layer.opened = days(layer.opened);
        layer.closed = days(layer.closed);
      });
      addPanel(page, timeline);
      page.map.getContainer().setAttribute("data-tc-timeline", "1");
    },
  };
})();
