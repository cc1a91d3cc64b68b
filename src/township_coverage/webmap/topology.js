/* township-coverage: decoder of the compact coverage topology.
 *
 * The page carries township borders as shared arcs on an integer grid
 * (geometry.encode_topology in Python): base64 text of zigzag varints.
 * arcCoordinates gives every arc's points once; canvas.js builds the
 * townships' rings from them, so a border shared by two townships is
 * decoded and projected once.
 */
(function () {
  "use strict";

  /* LEB128 varints from base64 text, into a Float64Array (exact up to 2^53). */
  function varints(text) {
    var bytes = atob(text), out = new Float64Array(bytes.length), count = 0, value = 0, scale = 1;
    for (var i = 0; i < bytes.length; i++) {
      var byte = bytes.charCodeAt(i);
      value += (byte & 0x7f) * scale;
      if (byte & 0x80) {
        scale *= 128;
      } else {
        out[count++] = value;
        value = 0;
        scale = 1;
      }
    }
    return out.subarray(0, count);
  }

  function unzigzag(n) {
    return n % 2 ? -(n + 1) / 2 : n / 2;
  }

  /* A varint stream of grid steps as LatLng: x is longitude, y latitude. */
  function points(encoded) {
    var numbers = varints(encoded.points), out = new Array(numbers.length / 2), x = 0, y = 0;
    var grid = encoded.grid, x0 = encoded.origin[0], y0 = encoded.origin[1];
    for (var i = 0, k = 0; i < numbers.length; i += 2, k++) {
      x += unzigzag(numbers[i]);
      y += unzigzag(numbers[i + 1]);
      out[k] = new L.LatLng(y0 + y * grid, x0 + x * grid);
    }
    return out;
  }

  /* Arc points as longitudes and latitudes, and where each arc starts in them (one more entry: the end).
   * `encoded` has the streams arcs and arc_lengths; origin and grid may come from `frame`. */
  function arcCoordinates(encoded, frame) {
    frame = frame || encoded;
    var numbers = varints(encoded.arcs), count = numbers.length / 2;
    var lng = new Float64Array(count), lat = new Float64Array(count), x = 0, y = 0;
    var grid = frame.grid, x0 = frame.origin[0], y0 = frame.origin[1];
    for (var i = 0; i < count; i++) {
      x += unzigzag(numbers[2 * i]);
      y += unzigzag(numbers[2 * i + 1]);
      lng[i] = x0 + x * grid;
      lat[i] = y0 + y * grid;
    }
    var lengths = varints(encoded.arc_lengths), starts = new Float64Array(lengths.length + 1);
    for (var k = 0; k < lengths.length; k++) starts[k + 1] = starts[k] + lengths[k];
    return {lng: lng, lat: lat, starts: starts};
  }

  /* The finer arcs of one cell of a large map: arcCoordinates plus the arc numbers they replace. */
  function detailArcs(cell, detail) {
    var arcs = arcCoordinates(cell, detail), steps = varints(cell.arc_ids), ids = new Int32Array(steps.length);
    for (var i = 0, id = 0; i < steps.length; i++) ids[i] = id += steps[i];
    arcs.ids = ids;
    return arcs;
  }

  window.TownshipTopology = {
    varints: varints, unzigzag: unzigzag, points: points, arcCoordinates: arcCoordinates, detailArcs: detailArcs,
  };
})();
