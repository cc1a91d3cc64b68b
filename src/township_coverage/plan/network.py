"""Distances along a road network: a graph of road lines, points attached to it, shortest paths within a limit.

The graph's nodes are the lines' vertices, merged when they lie within
:data:`SNAP_TOLERANCE_M` of each other, and the points where a line's end
touches another line between its vertices (that line is split there), so
lines that touch connect; lines that merely cross without a common vertex
(bridges, overpasses) do not. Each edge is a straight piece of a line,
weighted by its length.

A village or site joins the network at the nearest point of the nearest
edge (that edge is split there) by a straight off-road leg, so the distance
between two points is: off-road leg + shortest path along roads + off-road
leg (zero between points at the same place). Shortest paths come from
:func:`scipy.sparse.csgraph.dijkstra` with a limit, run on the part of the
graph near a block of origins (a path of length at most L stays within L of
its start as the crow flies), so the work grows with the number of points
and the road density, not with points x nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import shapely
from pyproj import CRS
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

#: Vertices this close are one node; a line end this close to another line joins it (metres).
SNAP_TOLERANCE_M = 1.0
#: Points farther than this from every road are reported (metres).
FAR_FROM_ROAD_M = 500.0
#: Most origins searched from at once (each gets a row of distances to the nodes near its block).
_BLOCK_ORIGINS = 256
#: Weight of edges of no length (a point on a road), so that the sparse graph keeps them.
_NO_LENGTH_M = 1e-9


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A road graph in a metric CRS (equal only to itself).

    Attributes
    ----------
    crs
        The metric CRS of the coordinates.
    node_xy
        ``(n, 2)`` coordinates of the nodes.
    edges
        ``(m, 2)`` node pairs of the straight edges (each once).
    lengths
        Length of each edge in metres.
    """

    crs: CRS
    node_xy: np.ndarray
    edges: np.ndarray
    lengths: np.ndarray
    _tree: shapely.STRtree = field(repr=False, compare=False)

    def attach(self, points_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where points join the network.

        Returns the nearest edge of each point, the position of the point's
        foot along it (metres from the edge's first node) and the off-road
        distance to the foot (metres).
        """
        points = shapely.points(points_xy)
        _, edge = self._tree.query_nearest(points, all_matches=False)
        segments = self._tree.geometries[edge]
        along = shapely.line_locate_point(segments, points)
        return edge, along, shapely.distance(segments, points)

    def off_road_m(self, points_xy: np.ndarray) -> np.ndarray:
        """Straight distance from each point to the nearest road, in metres."""
        return self.attach(points_xy)[2]

    def pairs_within(
        self, origins_xy: np.ndarray, targets_xy: np.ndarray, *, limit_m: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (origin position, target position, distance m) with a road distance of at most ``limit_m``.

        Sorted by origin, then target.
        """
        graph = _PointGraph.build(self, origins_xy, targets_xy)
        found = [graph.block_pairs(block, limit_m) for block in _blocks(origins_xy, 4.0 * limit_m, _BLOCK_ORIGINS)]
        if not found:
            return np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros(0)
        origin, target, distance = (np.concatenate(parts) for parts in zip(*found))
        order = np.lexsort((target, origin))
        return origin[order], target[order], distance[order]

    def nearest_m(self, origins_xy: np.ndarray, targets_xy: np.ndarray) -> np.ndarray:
        """Road distance from each origin to its nearest target (infinity when none is reachable)."""
        if len(targets_xy) == 0:
            return np.full(len(origins_xy), np.inf)
        graph = _PointGraph.build(self, origins_xy, targets_xy)
        sources = np.unique(graph.target_nodes)
        reach = dijkstra(graph.matrix, indices=sources, min_only=True)
        return reach[graph.origin_nodes]


def road_network(lines: np.ndarray, crs: CRS, *, snap_m: float = SNAP_TOLERANCE_M) -> RoadNetwork:
    """The graph of road lines.

    Parameters
    ----------
    lines
        LineStrings and MultiLineStrings in ``crs`` (shapely geometries).
    crs
        A metric CRS: the coordinates' unit is the metre.
    snap_m
        Vertices this close are one node; a line end this close to another
        line between its vertices splits that line there and joins it.

    Raises
    ------
    ValueError
        If there are no lines (or only empty ones).
    """
    parts = shapely.get_parts(np.asarray(lines, dtype=object))
    parts = parts[~shapely.is_empty(parts)]
    xy, line = shapely.get_coordinates(parts, return_index=True)
    if len(xy) == 0:
        raise ValueError("no road lines to build a network from")
    node_xy, vertex_node = _merge_close(xy, snap_m)
    same_line = line[1:] == line[:-1]
    starts, ends = vertex_node[:-1][same_line], vertex_node[1:][same_line]
    ends_of_lines = vertex_node[np.unique(np.concatenate([_first_of_each(line), _last_of_each(line)]))]
    edges = _split_at_touching_ends(node_xy, np.column_stack([starts, ends]), ends_of_lines, snap_m)
    edges, lengths = _unique_edges(node_xy, edges)
    tree = shapely.STRtree(shapely.linestrings(np.stack([node_xy[edges[:, 0]], node_xy[edges[:, 1]]], axis=1)))
    return RoadNetwork(crs=CRS.from_user_input(crs), node_xy=node_xy, edges=edges, lengths=lengths, _tree=tree)


# --- building the graph -----------------------------------------------------------------


def road_pairs(network: RoadNetwork):
    """The pairs measure of the distance objectives (:func:`township_coverage.plan.problem.distance_pairs`) along roads.

    The returned function takes village and site coordinates in the
    network's CRS and a limit in metres, one number or one per village, and
    gives every (village position, site position, metres) along the roads
    within the village's limit.
    """

    def pairs(villages_xy: np.ndarray, sites_xy: np.ndarray, limit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        limits = np.broadcast_to(np.asarray(limit, dtype=float), (len(villages_xy),))
        reach = float(limits.max()) if len(limits) else 0.0
        village, site, metres = network.pairs_within(villages_xy, sites_xy, limit_m=reach)
        keep = metres <= limits[village]
        return village[keep], site[keep], metres[keep]

    return pairs


def _merge_close(xy: np.ndarray, snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes of vertices merged within ``snap_m`` (chains merge too), and each vertex's node."""
    unique_xy, vertex_point = _unique_rows(xy)
    pairs = cKDTree(unique_xy).query_pairs(snap_m, output_type="ndarray")
    n = len(unique_xy)
    close = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    count, point_node = connected_components(close, directed=False)
    member = np.empty(count, dtype=np.intp)
    member[point_node] = np.arange(n)  # one of its points (all within the tolerance) places each node
    return unique_xy[member], point_node[vertex_point]


def _unique_rows(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct coordinate pairs and the position of each row among them (``np.unique(axis=0)``, faster)."""
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    ordered = xy[order]
    new = _starts_of_runs(ordered)
    position = np.empty(len(xy), dtype=np.intp)
    position[order] = np.cumsum(new) - 1
    return ordered[new], position


def _starts_of_runs(values: np.ndarray) -> np.ndarray:
    """Whether each row differs from the one before (the first always does)."""
    new = np.ones(len(values), dtype=bool)
    if len(values) > 1:
        new[1:] = (values[1:] != values[:-1]).reshape(len(values) - 1, -1).any(axis=1)
    return new


def _first_of_each(labels: np.ndarray) -> np.ndarray:
    """Positions where a run of equal labels starts."""
    return np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])


def _last_of_each(labels: np.ndarray) -> np.ndarray:
    """Positions where a run of equal labels ends."""
    return np.flatnonzero(np.r_[labels[1:] != labels[:-1], True])


def _split_at_touching_ends(node_xy: np.ndarray, edges: np.ndarray, ends: np.ndarray, snap_m: float) -> np.ndarray:
    """Edges split where a line's end node lies within ``snap_m`` of their interior."""
    segments = shapely.linestrings(np.stack([node_xy[edges[:, 0]], node_xy[edges[:, 1]]], axis=1))
    end_points = shapely.points(node_xy[ends])
    end, edge = shapely.STRtree(segments).query(end_points, predicate="dwithin", distance=snap_m)
    node = ends[end]
    inside = (node != edges[edge, 0]) & (node != edges[edge, 1])
    edge, node = edge[inside], node[inside]
    along = shapely.line_locate_point(segments[edge], end_points[end[inside]])
    return _split_edges(edges, shapely.length(segments), edge, along, node)


def _split_edges(
    edges: np.ndarray, lengths: np.ndarray, edge: np.ndarray, along: np.ndarray, node: np.ndarray
) -> np.ndarray:
    """Edges with ``node[k]`` inserted into ``edge[k]`` at ``along[k]`` metres from its first node.

    An edge split at several places becomes a chain in order along it.
    """
    every = np.arange(len(edges))
    owner = np.concatenate([every, every, edge])
    position = np.concatenate([np.zeros(len(edges)), lengths, np.clip(along, 0.0, lengths[edge])])
    stop = np.concatenate([edges[:, 0], edges[:, 1], node])
    # Ends sort before (first node) and after (last node) the splits at the same position.
    rank = np.concatenate([np.zeros(len(edges)), np.full(len(edges), 2), np.ones(len(edge))])
    order = np.lexsort((rank, position, owner))
    owner, stop = owner[order], stop[order]
    linked = owner[1:] == owner[:-1]
    return np.column_stack([stop[:-1][linked], stop[1:][linked]])


def _unique_edges(node_xy: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges without loops or repeats (each pair once, smaller node first), and their lengths."""
    edges = np.sort(edges, axis=1)
    edges = edges[edges[:, 0] != edges[:, 1]].astype(np.int64)
    code = np.sort(edges[:, 0] * len(node_xy) + edges[:, 1])
    edges = np.column_stack(np.divmod(code[_starts_of_runs(code)], len(node_xy)))
    return edges, np.hypot(*(node_xy[edges[:, 0]] - node_xy[edges[:, 1]]).T)


# --- points on the graph ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _PointGraph:
    """The road graph with origins and targets attached: each distinct point is a leaf on its road.

    Attributes
    ----------
    matrix
        Weights (CSR, both ways) of roads, split edges and off-road legs.
    node_xy
        Coordinates of every node (roads, feet on the roads, points).
    origin_nodes, target_nodes
        Node of each origin and target (points at the same place share one).
    """

    matrix: sp.csr_matrix
    node_xy: np.ndarray
    origin_nodes: np.ndarray
    target_nodes: np.ndarray
    _tree: cKDTree = field(repr=False)
    _targets_by_node: np.ndarray = field(repr=False)
    _sorted_target_nodes: np.ndarray = field(repr=False)

    @classmethod
    def build(cls, network: RoadNetwork, origins_xy: np.ndarray, targets_xy: np.ndarray) -> _PointGraph:
        """Attach the distinct points of ``origins_xy`` and ``targets_xy`` to ``network``."""
        points_xy, point = _unique_rows(np.concatenate([origins_xy, targets_xy]))
        edge, along, off_road = network.attach(points_xy)
        n_nodes, n_points = len(network.node_xy), len(points_xy)
        feet = n_nodes + np.arange(n_points)
        leaves = feet + n_points
        roads = _split_edges(network.edges, network.lengths, edge, along, feet)
        start_xy, end_xy = network.node_xy[network.edges[edge, 0]], network.node_xy[network.edges[edge, 1]]
        share = np.divide(along, network.lengths[edge], out=np.zeros(n_points), where=network.lengths[edge] > 0)
        node_xy = np.concatenate([network.node_xy, start_xy + share[:, None] * (end_xy - start_xy), points_xy])
        weights = np.concatenate([np.hypot(*(node_xy[roads[:, 0]] - node_xy[roads[:, 1]]).T), off_road])
        pairs = np.concatenate([roads, np.column_stack([feet, leaves])])
        size = len(node_xy)
        one_way = sp.csr_matrix(
            (np.maximum(weights, _NO_LENGTH_M), (pairs[:, 0], pairs[:, 1])), shape=(size, size)
        )
        matrix = (one_way + one_way.T).tocsr()
        origin_nodes, target_nodes = leaves[point[: len(origins_xy)]], leaves[point[len(origins_xy):]]
        targets_by_node = np.argsort(target_nodes, kind="stable")
        return cls(
            matrix, node_xy, origin_nodes, target_nodes, cKDTree(node_xy), targets_by_node,
            target_nodes[targets_by_node],
        )

    def block_pairs(self, origins: np.ndarray, limit_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(origin, target, distance) within ``limit_m`` for the origins of one block.

        Only nodes within ``limit_m`` (straight line) of the block's origins
        can lie on a path of at most ``limit_m``, so Dijkstra runs on them.
        """
        xy = self.node_xy[self.origin_nodes[origins]]
        low, high = xy.min(axis=0), xy.max(axis=0)
        reach_m = (high - low).max() / 2 + limit_m
        near = self._tree.query_ball_point((low + high) / 2, reach_m * (1 + 1e-9), p=np.inf)
        near = np.sort(np.asarray(near, dtype=np.intp))
        targets = self._targets_near(near)
        sources, row = np.unique(self.origin_nodes[origins], return_inverse=True)
        reach = dijkstra(_submatrix(self.matrix, near), indices=np.searchsorted(near, sources), limit=limit_m)
        distance = reach[row.ravel()][:, np.searchsorted(near, self.target_nodes[targets])]
        i, j = np.nonzero(distance <= limit_m)
        return origins[i], targets[j], distance[i, j]

    def _targets_near(self, near: np.ndarray) -> np.ndarray:
        """Positions of the targets whose node is one of ``near`` (sorted)."""
        by_node = self._sorted_target_nodes
        starts, stops = np.searchsorted(by_node, near, "left"), np.searchsorted(by_node, near, "right")
        return self._targets_by_node[_ranges(starts, stops)]


def _submatrix(matrix: sp.csr_matrix, nodes: np.ndarray) -> sp.csr_matrix:
    """``matrix[nodes][:, nodes]`` for sorted ``nodes``, in time of their entries (scipy's takes the whole width)."""
    starts, stops = matrix.indptr[nodes], matrix.indptr[nodes + 1]
    entries = _ranges(starts, stops)
    column = np.minimum(np.searchsorted(nodes, matrix.indices[entries]), len(nodes) - 1)
    keep = nodes[column] == matrix.indices[entries]
    row = np.repeat(np.arange(len(nodes)), stops - starts)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row[keep], minlength=len(nodes)))])
    return sp.csr_matrix((matrix.data[entries[keep]], column[keep], indptr), shape=(len(nodes), len(nodes)))


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """``starts[0]..stops[0]-1, starts[1]..stops[1]-1, ...`` as one array."""
    lengths = stops - starts
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())


def _blocks(xy: np.ndarray, side_m: float, most: int) -> list[np.ndarray]:
    """Positions of the points grouped by square cells of ``side_m``, at most ``most`` in a group."""
    if len(xy) == 0:
        return []
    cell = np.floor(xy / max(side_m, 1.0)) if np.isfinite(side_m) else np.zeros_like(xy)
    _, label = _unique_rows(cell)
    order = np.argsort(label, kind="stable")
    cells = np.split(order, np.flatnonzero(np.diff(label[order])) + 1)
    return [part for block in cells for part in np.array_split(block, -(-len(block) // most))]
