/* township-coverage: the township layer, drawn on one canvas.
 *
 * TownshipCanvas.create(map, townships, fills, loadScript) decodes the
 * township topology once into projected coordinates (shared borders
 * projected once) and draws every township in view on its own canvas,
 * filled by colour in a few batches: tens of thousands of townships need
 * no Leaflet layer each. The canvas takes no pointer events; the page
 * finds the township under the pointer with townshipAt(latlng) (a grid of
 * bounding boxes, then point in polygon). A large map's page carries
 * coarse borders; zoomed in, the finer arcs of the cells in view replace
 * them (ArcStore.replace) as their scripts arrive.
 */
(function () {
  "use strict";

  var STROKE = "#ffffff";
  var STROKE_WIDTH = 0.8;
  var FILL_OPACITY = 0.8;
  var BORDER = "#404040";
  var BORDER_WIDTH = 1.8;
  var HIGHLIGHT = {weight: 2.5, color: "#333333", fill: false, interactive: false};
  var INDEX_CELLS = 256;  // the spatial index is a grid of INDEX_CELLS x INDEX_CELLS cells
  var MIN_STEP = 0.7;  // pixels: closer points are skipped when drawing

  /* Web Mercator pixels at zoom 0, as Leaflet's default CRS (EPSG:3857) projects: x, y per point. */
  function project(lng, lat) {
    var world = new Float64Array(2 * lng.length), limit = L.Projection.SphericalMercator.MAX_LATITUDE;
    for (var i = 0; i < lng.length; i++) {
      var sin = Math.sin(Math.max(Math.min(limit, lat[i]), -limit) * Math.PI / 180);
      world[2 * i] = 256 * (0.5 + lng[i] / 360);
      world[2 * i + 1] = 256 * (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI));
    }
    return world;
  }

  /* Where each arc's points are: the page's borders at first, finer ones
   * for the cells of a large map loaded later (replace). */
  function ArcStore(arcs) {
    var count = arcs.starts.length - 1, store = {lng: arcs.lng, lat: arcs.lat, world: project(arcs.lng, arcs.lat)};
    this.store = new Array(count).fill(store);
    this.first = Int32Array.from(arcs.starts.subarray(0, count));
    this.end = Int32Array.from(arcs.starts.subarray(1));
  }

  /* Let the arcs numbered arcs.ids use the points of `arcs` (from TownshipTopology.detailArcs). */
  ArcStore.prototype.replace = function (arcs) {
    var store = {lng: arcs.lng, lat: arcs.lat, world: project(arcs.lng, arcs.lat)};
    for (var i = 0; i < arcs.ids.length; i++) {
      this.store[arcs.ids[i]] = store;
      this.first[arcs.ids[i]] = arcs.starts[i];
      this.end[arcs.ids[i]] = arcs.starts[i + 1];
    }
  };

  /* visit(store, k) for each point of a ring (arc references, ~i for arc i reversed), the closing point once. */
  ArcStore.prototype.eachPoint = function (refs, visit) {
    for (var r = 0; r < refs.length; r++) {
      var ref = refs[r], arc = ref >= 0 ? ref : ~ref, store = this.store[arc], k;
      if (ref >= 0) { for (k = this.first[arc]; k < this.end[arc] - 1; k++) visit(store, k); }
      else { for (k = this.end[arc] - 1; k > this.first[arc]; k--) visit(store, k); }
    }
  };

  /* Per township, its rings as arc references (exterior first in each polygon). */
  function townshipRings(topology) {
    var stream = TownshipTopology.varints(topology.shapes), position = 0, previous = 0, out = [];
    while (position < stream.length) {
      var rings = [], polygonCount = stream[position++];
      for (var p = 0; p < polygonCount; p++) {
        var ringCount = stream[position++];
        for (var r = 0; r < ringCount; r++) {
          var arcCount = stream[position++], refs = new Int32Array(arcCount);
          for (var a = 0; a < arcCount; a++) {
            var code = stream[position++], reversed = code % 2 === 1;
            previous += TownshipTopology.unzigzag((code - (reversed ? 1 : 0)) / 2);
            refs[a] = reversed ? ~previous : previous;
          }
          rings.push({refs: refs, exterior: r === 0});
        }
      }
      out.push(rings);
    }
    return out;
  }

  var TownshipRenderer = L.Canvas.extend({
    initialize: function (data, options) {
      L.Canvas.prototype.initialize.call(this, options);
      this._data = data;
      this._fills = [];
    },

    /* After a pan that stays inside what was drawn (the canvas covers twice
     * the view), there is nothing to draw again. */
    _update: function () {
      var map = this._map, size = map.getSize();
      var view = L.bounds(map.containerPointToLayerPoint([0, 0]), map.containerPointToLayerPoint(size));
      var origin = map.getPixelOrigin();
      if (this._bounds && !map._animatingZoom && map.getZoom() === this._drawnZoom && origin.equals(this._drawnOrigin) &&
          this._bounds.contains(view)) {
        return;
      }
      this._drawnZoom = map.getZoom();
      this._drawnOrigin = origin;
      L.Canvas.prototype._update.call(this);
    },

    setFills: function (fills) {
      var same = fills.length === this._fills.length && fills.every(function (fill, t) { return fill === this._fills[t]; }, this);
      this._fills = fills;
      if (this._map && !same) this._redraw();
    },

    showBorders: function (shown) {
      this._bordersShown = shown;
      if (this._map) this._redraw();
    },

    _draw: function () {
      var data = this._data, ctx = this._ctx, map = this._map;
      if (!ctx || !map) return;
      var scale = map.getZoomScale(map.getZoom(), 0), origin = map.getPixelOrigin();
      var bounds = this._bounds, box = data.boxes;
      var x0 = (bounds.min.x + origin.x) / scale, y0 = (bounds.min.y + origin.y) / scale;
      var x1 = (bounds.max.x + origin.x) / scale, y1 = (bounds.max.y + origin.y) / scale;
      var byColour = {};
      for (var t = 0; t < data.rings.length; t++) {
        if (box[4 * t] > x1 || box[4 * t + 2] < x0 || box[4 * t + 1] > y1 || box[4 * t + 3] < y0) continue;
        var colour = this._fills[t] || "#d9d9d9";
        (byColour[colour] = byColour[colour] || []).push(t);
      }
      // One path per township: canvas fills and strokes of one huge path are far slower.
      ctx.strokeStyle = STROKE;
      ctx.lineWidth = STROKE_WIDTH;
      ctx.lineJoin = "round";
      for (var fill in byColour) {
        ctx.fillStyle = fill;
        var list = byColour[fill];
        for (var k = 0; k < list.length; k++) {
          ctx.beginPath();
          this._trace(list[k], scale, origin);
          ctx.globalAlpha = FILL_OPACITY;
          ctx.fill();
          ctx.globalAlpha = 1;
          ctx.stroke();
        }
      }
      if (this._bordersShown) this._drawBorders(scale, origin);
    },

    /* County borders: the arcs between counties, each once. */
    _drawBorders: function (scale, origin) {
      var ctx = this._ctx, borders = this._data.borders, arcs = this._data.arcs;
      ctx.strokeStyle = BORDER;
      ctx.lineWidth = BORDER_WIDTH;
      for (var a = 0; a < borders.length; a++) {
        var arc = borders[a], world = arcs.store[arc].world;
        ctx.beginPath();
        for (var k = arcs.first[arc]; k < arcs.end[arc]; k++) {
          var x = world[2 * k] * scale - origin.x, y = world[2 * k + 1] * scale - origin.y;
          if (k === arcs.first[arc]) ctx.moveTo(x, y);
          else ctx.lineTo(x, y);
        }
        ctx.stroke();
      }
    },

    /* Add township t's rings to the current path, skipping points closer than MIN_STEP pixels. */
    _trace: function (t, scale, origin) {
      var ctx = this._ctx, rings = this._data.rings[t], lastX, lastY, started;
      function visit(store, k) {
        var x = store.world[2 * k] * scale - origin.x, y = store.world[2 * k + 1] * scale - origin.y;
        if (!started) {
          ctx.moveTo(x, y);
          started = true;
        } else if (Math.abs(x - lastX) < MIN_STEP && Math.abs(y - lastY) < MIN_STEP) {
          return;
        } else {
          ctx.lineTo(x, y);
        }
        lastX = x;
        lastY = y;
      }
      for (var r = 0; r < rings.length; r++) {
        started = false;
        this._data.arcs.eachPoint(rings[r].refs, visit);
        ctx.closePath();
      }
    },
  });

  /* Per township, the box of its exterior rings in world pixels, widened by `pad` (for finer borders loaded later). */
  function boxes(rings, arcs, pad) {
    var out = new Float64Array(4 * rings.length), minX, minY, maxX, maxY;
    function visit(store, k) {
      var x = store.world[2 * k], y = store.world[2 * k + 1];
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    rings.forEach(function (township, t) {
      minX = minY = Infinity;
      maxX = maxY = -Infinity;
      township.forEach(function (item) { if (item.exterior) arcs.eachPoint(item.refs, visit); });
      out.set([minX - pad, minY - pad, maxX + pad, maxY + pad], 4 * t);
    });
    return out;
  }

  /* A grid over all boxes: per cell, the townships whose box meets it. */
  function gridIndex(box, count) {
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (var t = 0; t < count; t++) {
      minX = Math.min(minX, box[4 * t]);
      minY = Math.min(minY, box[4 * t + 1]);
      maxX = Math.max(maxX, box[4 * t + 2]);
      maxY = Math.max(maxY, box[4 * t + 3]);
    }
    var width = (maxX - minX) / INDEX_CELLS || 1, height = (maxY - minY) / INDEX_CELLS || 1, cells = {};
    function cell(value, min, size) { return Math.min(INDEX_CELLS - 1, Math.max(0, Math.floor((value - min) / size))); }
    for (var s = 0; s < count; s++) {
      for (var cx = cell(box[4 * s], minX, width); cx <= cell(box[4 * s + 2], minX, width); cx++) {
        for (var cy = cell(box[4 * s + 1], minY, height); cy <= cell(box[4 * s + 3], minY, height); cy++) {
          (cells[cx * INDEX_CELLS + cy] = cells[cx * INDEX_CELLS + cy] || []).push(s);
        }
      }
    }
    return function (x, y) {
      if (x < minX || x > maxX || y < minY || y > maxY) return [];
      return cells[cell(x, minX, width) * INDEX_CELLS + cell(y, minY, height)] || [];
    };
  }

  /* Even-odd point in polygon over all rings of a township. */
  function contains(township, arcs, x, y) {
    var inside = false, firstX, firstY, lastX, lastY, started;
    function edge(xi, yi, xj, yj) {
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    function visit(store, k) {
      var xi = store.world[2 * k], yi = store.world[2 * k + 1];
      if (started) edge(xi, yi, lastX, lastY);
      else { firstX = xi; firstY = yi; started = true; }
      lastX = xi;
      lastY = yi;
    }
    township.forEach(function (item) {
      started = false;
      arcs.eachPoint(item.refs, visit);
      if (started) edge(firstX, firstY, lastX, lastY);
    });
    return inside;
  }

  /* Finer borders of a large map, by cell, loaded as scripts once zoomed in to `detail.min_zoom`:
   * the cells whose box meets the view. loadScript(src, done) adds a script; each cell's
   * script hands its arcs to the returned function. */
  function detailLoader(map, detail, arcs, redraw, loadScript) {
    var requested = {}, status = {requested: 0, loaded: 0, failed: 0}, pendingRedraw = null;
    function update() {
      if (map.getZoom() < detail.min_zoom) return;
      var view = map.getBounds().pad(0.25);
      detail.boxes.forEach(function (box, cell) {
        if (requested[cell] || !view.intersects(L.latLngBounds([box[1], box[0]], [box[3], box[2]]))) return;
        requested[cell] = true;
        status.requested++;
        loadScript(detail.files[cell], function () { status.failed++; });
      });
    }
    map.on("moveend", update);
    update();
    return {
      status: status,
      add: function (cell) {
        arcs.replace(TownshipTopology.detailArcs(cell, detail));
        status.loaded++;
        if (pendingRedraw === null) pendingRedraw = requestAnimationFrame(function () { pendingRedraw = null; redraw(); });
      },
    };
  }

  window.TownshipCanvas = {
    /* The township layer of a map (townships: the page's township data): returns its renderer, with
     * townshipAt(latlng) -> index or -1, bounds(index), latlngs(index)
     * (polygons of rings of LatLng), highlight(index or -1),
     * setFills(colours) (at first: fills), borders: a layer that shows the county
     * borders (the arcs numbered in townships.county_arcs) on the same canvas, and
     * detail: for a large map, {status, add(cell)} of its finer borders (loaded with loadScript). */
    create: function (map, townships, fills, loadScript) {
      var topology = townships.topology, arcs = new ArcStore(TownshipTopology.arcCoordinates(topology));
      var rings = townshipRings(topology);
      var pad = townships.detail ? 256 * townships.detail.pad / 360 * 2 : 0;  // world pixels, with room for latitude
      var data = {
        rings: rings, arcs: arcs, boxes: boxes(rings, arcs, pad),
        borders: townships.county_arcs ? TownshipTopology.varints(townships.county_arcs) : [],
      };
      var find = gridIndex(data.boxes, rings.length);
      if (!map.getPane("tcTownships")) {
        var pane = map.createPane("tcTownships");
        pane.style.zIndex = 390;  // above tiles, below the other overlays
        pane.style.pointerEvents = "none";
      }
      var renderer = new TownshipRenderer(data, {pane: "tcTownships", padding: 0.5});
      renderer._fills = fills || [];
      var highlighted = null, highlightedIndex = -1;
      renderer.count = rings.length;
      renderer.townshipAt = function (latlng) {
        var point = map.project(latlng, 0), candidates = find(point.x, point.y);
        for (var i = 0; i < candidates.length; i++) {
          if (contains(rings[candidates[i]], arcs, point.x, point.y)) return candidates[i];
        }
        return -1;
      };
      renderer.latlngs = function (index) {
        var polygons = [];
        rings[index].forEach(function (item) {
          var ring = [];
          arcs.eachPoint(item.refs, function (store, k) { ring.push(L.latLng(store.lat[k], store.lng[k])); });
          if (item.exterior) polygons.push([ring]);
          else polygons[polygons.length - 1].push(ring);
        });
        return polygons;
      };
      renderer.bounds = function (index) {
        var box = data.boxes;
        return L.latLngBounds(map.unproject([box[4 * index], box[4 * index + 3]], 0),
                              map.unproject([box[4 * index + 2], box[4 * index + 1]], 0));
      };
      renderer.highlight = function (index) {
        highlightedIndex = index;
        if (highlighted) highlighted.remove();
        highlighted = index >= 0 ? L.polygon(renderer.latlngs(index), HIGHLIGHT).addTo(map) : null;
      };
      renderer.borders = L.layerGroup();
      renderer.borders.on("add", function () { renderer.showBorders(true); });
      renderer.borders.on("remove", function () { renderer.showBorders(false); });
      renderer.addTo(map);
      renderer.detail = townships.detail ? detailLoader(map, townships.detail, arcs, function () {
        renderer._redraw();
        if (highlighted) renderer.highlight(highlightedIndex);
      }, loadScript) : null;
      return renderer;
    },
  };
})();
