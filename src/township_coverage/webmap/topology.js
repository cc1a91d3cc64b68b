/* township-coverage: decoder of the compact coverage topology.
 *
 * The page carries township borders as shared arcs on an integer grid
 * (geometry.encode_topology in Python): base64 text of zigzag varints.
 * Decoding gives, per shape, its polygons as nested arrays of L.LatLng;
 * a border shared by two townships is one run of LatLng objects that
 * both polygons use.
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

  /* All arc points, and where each arc starts in them (one more entry: the end). */
  function arcPoints(topology) {
    var all = points({points: topology.arcs, grid: topology.grid, origin: topology.origin});
    var lengths = varints(topology.arc_lengths), starts = new Float64Array(lengths.length + 1);
    for (var i = 0; i < lengths.length; i++) starts[i + 1] = starts[i] + lengths[i];
    return {all: all, starts: starts};
  }

  function arcs(topology) {
    var decoded = arcPoints(topology), out = new Array(decoded.starts.length - 1);
    for (var i = 0; i < out.length; i++) out[i] = decoded.all.slice(decoded.starts[i], decoded.starts[i + 1]);
    return out;
  }

  /* Per shape, its polygons; per polygon, its rings of LatLng (exterior first). */
  function shapes(topology) {
    var decoded = arcPoints(topology), all = decoded.all, starts = decoded.starts;
    var stream = varints(topology.shapes), position = 0, previous = 0, out = [];
    while (position < stream.length) {
      var polygons = [], polygonCount = stream[position++];
      for (var p = 0; p < polygonCount; p++) {
        var rings = [], ringCount = stream[position++];
        for (var r = 0; r < ringCount; r++) {
          var ring = [], arcCount = stream[position++];
          for (var a = 0; a < arcCount; a++) {
            var code = stream[position++], reversed = code % 2 === 1;
            var index = previous + unzigzag((code - (reversed ? 1 : 0)) / 2);
            previous = index;
            var first = starts[index], last = starts[index + 1] - 1;
            if (reversed) {
              for (var k = last; k > first; k--) ring.push(all[k]);
            } else {
              for (var m = first; m < last; m++) ring.push(all[m]);
            }
          }
          rings.push(ring);
        }
        polygons.push(rings);
      }
      out.push(polygons);
    }
    return out;
  }

  window.TownshipTopology = {varints: varints, unzigzag: unzigzag, points: points, arcs: arcs, shapes: shapes};
})();
