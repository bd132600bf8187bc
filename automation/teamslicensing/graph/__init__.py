"""Everything Graph-specific: connection and credentials (`connection`), the client with paging, $batch, pacing and
the one retry layer (`client`), and what planned changes become on the wire (`requests`). Nothing outside this
package imports httpx, msgraph or kiota."""

from teamslicensing.graph.client import Graph
from teamslicensing.graph.connection import CLOUDS, GRAPH_URL_ENV, TOKEN_ENV, Connection

__all__ = ["CLOUDS", "GRAPH_URL_ENV", "TOKEN_ENV", "Connection", "Graph"]
