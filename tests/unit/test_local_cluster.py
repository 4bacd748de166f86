"""`flowmaestro up --cluster N`: how many replicas, and how its servers meet."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowmaestro.cli.stack import ClusterSizeError, cluster_replicas
from flowmaestro.runtime.embedded import NatsCluster


def test_a_cluster_replicates_three_times_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWMAESTRO_STREAM_REPLICAS", raising=False)
    assert cluster_replicas(3) == 3
    assert cluster_replicas(5) == 3
    monkeypatch.setenv("FLOWMAESTRO_STREAM_REPLICAS", "5")
    assert cluster_replicas(5) == 5


def test_an_impossible_cluster_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWMAESTRO_STREAM_REPLICAS", raising=False)
    with pytest.raises(ClusterSizeError, match="at least 3"):
        cluster_replicas(2)
    monkeypatch.setenv("FLOWMAESTRO_STREAM_REPLICAS", "5")
    with pytest.raises(ClusterSizeError, match="FLOWMAESTRO_STREAM_REPLICAS=5"):
        cluster_replicas(3)


def test_each_server_routes_to_the_others_with_a_password(tmp_path: Path) -> None:
    cluster = NatsCluster(tmp_path, size=3)
    ports = {s.port for s in cluster.servers} | set(cluster.route_ports)
    assert len(ports) == 6  # client and route ports all different
    assert cluster.url == ",".join(f"nats://127.0.0.1:{s.port}" for s in cluster.servers)
    names = [s.server_name for s in cluster.servers]
    assert names == ["flowmaestro-1", "flowmaestro-2", "flowmaestro-3"]
    for server in cluster.servers:
        route = server.cluster
        assert route is not None
        assert set(route.peers) == set(cluster.route_ports) - {route.port}
        block = route.config()
        assert f'listen: "127.0.0.1:{route.port}"' in block
        for peer in route.peers:
            assert f"nats-route://route:{route.password}@127.0.0.1:{peer}" in block
        assert f'"password": "{route.password}"' in block
        assert server.store_dir.parent == tmp_path
    assert len({s.store_dir for s in cluster.servers}) == 3
