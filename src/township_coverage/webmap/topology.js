/* township-coverage: decoder of the compact coverage topology.
 *
 * The page carries township and county borders as shared arcs on an
 * integer grid (geometry.encode_topology in Python): base64 text of
 * zigzag varints. Decoding gives, per shape, its polygons as nested
 * arrays of L.LatLng; a border shared by two townships is one list of
 * LatLng objects that both polygons use.
 */
(function () {
  "use strict";

  function varints(text) {
    var bytes = atob(text), out = [], value = 0, scale = 1;
    for (var i = 0; i < bytes.length; i++) {
      var byte = bytes.charCodeAt(i);
      value += (byte & 0x7f) * scale;
      if (byte & 0x80) {
        scale *= 128;
      } else {
        out.push(value);
        value = 0;
        scale = 1;
      }
    }
    return out;
  }

  function unzigzag(n) {
    return n % 2 ? -(n + 1) / 2 : n / 2;
  }

  /* Integer grid points as LatLng: x is longitude, y latitude. */
  function points(encoded) {
    var numbers = varints(encoded.points), out = [], x = 0, y = 0;
    var grid = encoded.grid, x0 = encoded.origin[0], y0 = encoded.origin[1];
    for (var i = 0; i < numbers.length; i += 2) {
      x += unzigzag(numbers[i]);
      y += unzigzag(numbers[i + 1]);
      out.push(L.latLng(y0 + y * grid, x0 + x * grid));
    }
    return out;
  }

  function arcs(topology) {
    var all = points({points: topology.arcs, grid: topology.grid, origin: topology.origin});
    var lengths = varints(topology.arc_lengths), out = [], start = 0;
    lengths.forEach(function (length) {
      out.push(all.slice(start, start + length));
      start += length;
    });
    return out;
  }

  /* Per shape, its polygons; per polygon, its rings of LatLng (exterior first). */
  function shapes(topology) {
    var lines = arcs(topology), stream = varints(topology.shapes), position = 0, previous = 0, out = [];
    function next() { return stream[position++]; }
    while (position < stream.length) {
      var polygons = [], polygonCount = next();
      for (var p = 0; p < polygonCount; p++) {
        var rings = [], ringCount = next();
        for (var r = 0; r < ringCount; r++) {
          var ring = [], arcCount = next();
          for (var a = 0; a < arcCount; a++) {
            var code = next(), reversed = code % 2 === 1;
            var index = previous + unzigzag((code - (reversed ? 1 : 0)) / 2);
            previous = index;
            var arc = lines[index];
            if (reversed) {
              for (var k = arc.length - 1; k > 0; k--) ring.push(arc[k]);
            } else {
              for (var m = 0; m < arc.length - 1; m++) ring.push(arc[m]);
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

  window.TownshipTopology = {varints: varints, points: points, arcs: arcs, shapes: shapes};
})();
