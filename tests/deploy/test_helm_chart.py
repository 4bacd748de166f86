"""The Helm chart: lints, renders with several values files, and every manifest is valid
against the Kubernetes schemas (strictly: no unknown fields)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

# The chart's and compose's defaults serve the built-in types; plugin pools are the operator's.
from flowmaestro.executors.registry import BUILTIN_EXECUTORS as EXECUTORS
from flowmaestro.runtime.embedded import nats_server_binary
from flowmaestro.runtime.natsauth import IDENTITIES, password_variable
from scripts import gen_nats_authorization
from tests.deploy.paths import CHART
from tests.deploy.source import cli_accepts, documented_and_read

KUBERNETES = "1.30.0"
VALUES_FILES = sorted(p.name for p in (CHART / "ci").glob("*-values.yaml"))
# Kinds of add-ons the schemas do not cover; checked field by field below instead.
ADD_ON_KINDS = {"keda.sh/v1alpha1/ScaledObject"}


def _values(name: str) -> dict[str, Any]:
    return yaml.safe_load((CHART / "ci" / name).read_text())


def _render(values: dict[str, Any]) -> list[dict[str, Any]]:
    chart = helm.Chart.load(CHART)
    rendered = chart.render(values, name="flowmaestro", namespace="flowmaestro", is_install=True)
    return [
        doc
        for text in rendered.values()
        for doc in yaml.safe_load_all(text)
        if doc  # templates switched off render nothing
    ]


@pytest.fixture(scope="module", params=VALUES_FILES)
def manifests(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, _render(_values(request.param))


def _kind(doc: dict[str, Any]) -> str:
    return f"{doc['apiVersion']}/{doc['kind']}"


def _of(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """This chart's own objects of `kind` (not the NATS subchart's)."""
    return [
        d
        for d in docs
        if d["kind"] == kind
        and d["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "flowmaestro"
    ]


def _named(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in docs if d["metadata"]["name"] == name)


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def test_there_are_several_values_files() -> None:
    assert len(VALUES_FILES) >= 3


@pytest.mark.parametrize("name", VALUES_FILES)
def test_lints_clean(name: str) -> None:
    report = helm.lint(CHART, _values(name), strict=True, kube_version=f"v{KUBERNETES}")
    assert [m["error"] for m in report["messages"] if m["severity"] >= 2] == []
    assert report["errors"] == []


def test_every_manifest_is_valid_kubernetes(manifests: tuple[str, list[dict[str, Any]]]) -> None:
    name, docs = manifests
    assert docs, name
    for doc in docs:
        if _kind(doc) in ADD_ON_KINDS:
            continue
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_a_broken_manifest_would_be_caught() -> None:
    deployment = _of(_render(_values("default-values.yaml")), "Deployment")[0]
    deployment["spec"]["replicaz"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_missing_secrets_are_refused_by_name() -> None:
    with pytest.raises(helm.HelmError, match=r"secrets\.jwtSecret"):
        _render({})


def test_every_container_runs_a_flowmaestro_command(
    manifests: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = manifests
    for doc in _of(docs, "Deployment") + _of(docs, "Job"):
        for container in _containers(doc):
            assert cli_accepts(container["args"]), container["args"]


def test_missing_nats_passwords_are_refused_by_name() -> None:
    values = _values("default-values.yaml")
    del values["secrets"]["natsPasswords"]["executors"]
    with pytest.raises(helm.HelmError, match=r"secrets\.natsPasswords\.executors"):
        _render(values)


# The NATS identity of each container: the setup Job's topology step is the operator.
IDENTITY_OF = {"gateway": "gateway", "migrate": "gateway", "scheduler": "scheduler"}
IDENTITY_OF |= {"executors": "executors", "topology": "cli"}


def test_each_part_connects_as_its_own_nats_identity(
    manifests: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = manifests
    seen: set[str] = set()
    for doc in _of(docs, "Deployment") + _of(docs, "Job"):
        for container in _containers(doc):
            env = {e["name"]: e for e in container["env"]}
            identity = IDENTITY_OF[container["name"]]
            assert env["FLOWMAESTRO_NATS_USER"]["value"] == identity
            password = env["FLOWMAESTRO_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert password["key"] == f"nats-password-{identity}"
            keys = {
                e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e
            }
            assert {k for k in keys if k.startswith("nats-password-")} == {password["key"]}
            seen.add(identity)
    (secret,) = _of(docs, "Secret") or [None]
    if secret is not None:  # the chart's own Secret holds every identity's password
        assert {f"nats-password-{i}" for i in IDENTITIES} <= set(secret["stringData"])
        assert "@" not in secret["stringData"]["nats-url"]


def test_pods_run_as_non_root_with_probes_and_requests(
    manifests: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = manifests
    for doc in _of(docs, "Deployment") + _of(docs, "Job"):
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in _containers(doc):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["resources"]["requests"]["memory"]
            if doc["kind"] == "Deployment":
                assert container["livenessProbe"] and container["readinessProbe"]


def test_gateway_probes_health_and_ready_and_scales_on_cpu() -> None:
    docs = _render(_values("default-values.yaml"))
    gateway = next(
        d for d in _of(docs, "Deployment") if d["metadata"]["name"] == "flowmaestro-gateway"
    )
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    hpa = next(
        d
        for d in _of(docs, "HorizontalPodAutoscaler")
        if d["metadata"]["name"] == "flowmaestro-gateway"
    )
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"


def test_every_node_type_has_one_pool_scaled_on_its_consumer_backlog() -> None:
    docs = _render(_values("default-values.yaml"))
    served: list[str] = []
    for deployment in _of(docs, "Deployment"):
        args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        if args[0] == "executors":
            assert args[1] == "--types"
            served += args[2:]
    assert sorted(served) == sorted(EXECUTORS)
    backlog = [
        metric["external"]["metric"]["selector"]["matchLabels"]["consumer_name"]
        for hpa in _of(docs, "HorizontalPodAutoscaler")
        for metric in hpa["spec"]["metrics"]
        if metric["type"] == "External"
    ]
    assert sorted(backlog) == sorted(f"exec-{t}" for t in EXECUTORS)


def test_keda_scaler_option_watches_each_consumer() -> None:
    docs = _render(_values("keda-ingress-values.yaml"))
    scaled = _of(docs, "ScaledObject")
    assert scaled and not [
        h for h in _of(docs, "HorizontalPodAutoscaler") if "executors" in h["metadata"]["name"]
    ]
    deployments = {d["metadata"]["name"] for d in _of(docs, "Deployment")}
    consumers: list[str] = []
    for obj in scaled:
        spec = obj["spec"]
        assert spec["scaleTargetRef"]["name"] in deployments
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        for trigger in spec["triggers"]:
            assert trigger["type"] == "nats-jetstream"
            meta = trigger["metadata"]
            assert meta["stream"] == "FM_CMD" and int(meta["lagThreshold"]) > 0
            assert meta["natsServerMonitoringEndpoint"] == "nats.nats.svc:8222"
            consumers.append(meta["consumer"])
    assert sorted(consumers) == sorted(f"exec-{t}" for t in EXECUTORS)
    assert _of(docs, "Ingress")[0]["spec"]["tls"][0]["secretName"] == "flows-tls"


def test_disruption_budgets_cover_every_deployment(
    manifests: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = manifests
    budgets = [b["spec"]["selector"]["matchLabels"] for b in _of(docs, "PodDisruptionBudget")]
    for deployment in _of(docs, "Deployment"):
        assert deployment["spec"]["selector"]["matchLabels"] in budgets


def test_secrets_reach_only_the_services_that_need_them(
    manifests: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = manifests
    for doc in _of(docs, "Deployment") + _of(docs, "Job"):
        for container in _containers(doc):
            keys = {
                e["valueFrom"]["secretKeyRef"]["key"]
                for e in container.get("env", [])
                if "valueFrom" in e
            }
            assert "nats-url" in keys
            if container["name"] != "gateway":
                assert "jwt-secret" not in keys, container["name"]
            if container["name"] not in ("gateway", "migrate"):
                assert "database-url" not in keys, container["name"]


def test_every_flowmaestro_variable_is_read_by_the_code_and_documented(
    manifests: tuple[str, list[dict[str, Any]]],
) -> None:
    _, docs = manifests
    settings = [c for c in _of(docs, "ConfigMap") if c["metadata"]["name"].endswith("-config")]
    named = {k for c in settings for k in c["data"]}
    for doc in _of(docs, "Deployment") + _of(docs, "Job"):
        for container in _containers(doc):
            named |= {e["name"] for e in container.get("env", [])}
    missing = sorted(n for n in named if not documented_and_read(n))
    assert not missing, missing


def test_executors_reach_neither_postgres_nor_the_gateway() -> None:
    values = _values("default-values.yaml")
    docs = _render(values)
    policies = {p["metadata"]["name"]: p["spec"] for p in _of(docs, "NetworkPolicy")}
    deny = policies["flowmaestro-default-deny"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny
    executors = policies["flowmaestro-executors"]
    assert executors["ingress"] == []
    database_cidr = "10.0.0.0/8"  # the chart's default database.cidr
    for rule in executors["egress"]:
        for peer in rule.get("to", []):
            block = peer.get("ipBlock")
            if block:
                assert block["cidr"] != database_cidr
                if block["cidr"] == "0.0.0.0/0":
                    assert database_cidr in block["except"]
                    assert "169.254.0.0/16" in block["except"]  # cloud metadata
            else:
                assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "nats"}
                # the client port only: a route (6222) is trusted with every subject
                assert rule["ports"] == [{"protocol": "TCP", "port": 4222}]
    # The gateway admits only the ingress controller's namespace.
    gateway_from = policies["flowmaestro-gateway"]["ingress"][0]["from"]
    assert [list(p) for p in gateway_from] == [["namespaceSelector"]]
    # Only the gateway and the setup job may reach the database.
    for name, spec in policies.items():
        reaches_db = any(
            peer.get("ipBlock", {}).get("cidr") == database_cidr
            for rule in spec.get("egress", [])
            for peer in rule.get("to", [])
        )
        assert reaches_db == (name in ("flowmaestro-gateway", "flowmaestro-setup")), name


def test_bundled_nats_is_a_three_server_jetstream_cluster() -> None:
    docs = _render(_values("bundled-nats-values.yaml"))
    (nats,) = [d for d in docs if d["kind"] == "StatefulSet"]
    assert nats["spec"]["replicas"] == 3
    assert nats["metadata"]["labels"]["app.kubernetes.io/name"] == "nats"
    config = next(
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "flowmaestro-nats-config"
    )
    text = config["data"]["nats.conf"]
    assert "jetstream" in text and "authorization" in text and "cluster" in text
    services = [d["metadata"]["name"] for d in docs if d["kind"] == "Service"]
    assert "flowmaestro-nats" in services  # the host in this values file's natsUrl
    # The executors' network policy admits exactly these pods for NATS.
    default = _render(_values("default-values.yaml"))
    (executors,) = [
        p for p in _of(default, "NetworkPolicy") if p["metadata"]["name"].endswith("-executors")
    ]
    selectors = [
        peer["podSelector"]["matchLabels"]
        for rule in executors["spec"]["egress"]
        for peer in rule.get("to", [])
        if "podSelector" in peer
    ]
    pod_labels = nats["spec"]["template"]["metadata"]["labels"]
    assert selectors and all(sel.items() <= pod_labels.items() for sel in selectors)


def test_bundled_nats_has_the_components_users_and_their_passwords(tmp_path: Path) -> None:
    """The servers include the generated authorization (natsauth's users and permissions),
    read each password from the chart's Secret, and nats-server accepts the result."""
    docs = _render(_values("bundled-nats-values.yaml"))
    (nats,) = [d for d in docs if d["kind"] == "StatefulSet"]
    pod = nats["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "nats")
    (secret,) = _of(docs, "Secret")
    env = {e["name"]: e for e in container["env"]}
    for identity in IDENTITIES:
        ref = env[password_variable(identity)]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": secret["metadata"]["name"], "key": f"nats-password-{identity}"}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "flowmaestro-authorization")
    volume = next(v for v in pod["volumes"] if v["name"] == "flowmaestro-authorization")
    authorization = _named(docs, volume["configMap"]["name"])
    text = authorization["data"]["nats-authorization.conf"]
    assert text == gen_nats_authorization.rendered()
    server_config = _named(docs, "flowmaestro-nats-config")["data"]["nats.conf"]
    include = "include ./authorization/nats-authorization.conf;"
    assert include in server_config and mount["mountPath"] == "/etc/nats-config/authorization"
    # nats-server itself, in config-test mode, with the pod's layout and environment.
    (tmp_path / "authorization").mkdir()
    (tmp_path / "authorization" / "nats-authorization.conf").write_text(text)
    (tmp_path / "nats.conf").write_text(server_config)
    pod_env = {password_variable(i): secret["stringData"][f"nats-password-{i}"] for i in IDENTITIES}
    done = subprocess.run(
        [nats_server_binary(), "-t", "-c", "nats.conf"],
        env={**pod_env, "SERVER_NAME": "flowmaestro-nats-0"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_bundled_nats_admits_clients_only_from_flowmaestro_and_routes_only_from_peers() -> None:
    docs = _render(_values("bundled-nats-values.yaml"))
    (nats,) = [d for d in docs if d["kind"] == "StatefulSet"]
    pod_labels = nats["spec"]["template"]["metadata"]["labels"]
    policy = _named(_of(docs, "NetworkPolicy"), "flowmaestro-nats")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    by_port = {rule["ports"][0]["port"]: rule.get("from") for rule in policy["ingress"]}
    (clients,) = by_port[4222]
    flowmaestro_pod = _of(docs, "Deployment")[0]["spec"]["template"]["metadata"]["labels"]
    assert clients["podSelector"]["matchLabels"].items() <= flowmaestro_pod.items()
    (peers,) = by_port[6222]
    assert peers["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert by_port[8222] is None  # monitoring only: no messages, no commands
    default = _of(_render(_values("default-values.yaml")), "NetworkPolicy")
    assert "flowmaestro-nats" not in {p["metadata"]["name"] for p in default}


def test_a_pool_can_serve_node_plugins_from_its_own_image() -> None:
    docs = _render(_values("plugin-pool-values.yaml"))
    pool = _named(_of(docs, "Deployment"), "flowmaestro-executors-slugify")
    (container,) = pool["spec"]["template"]["spec"]["containers"]
    assert container["args"] == [
        "executors",
        "--types",
        "slugify",
        "--plugins",
        "flowmaestro-plugin-slugify",
    ]
    assert (
        container["image"]
        == "registry.example.org/flowmaestro-with-plugins/executors-slugify:0.1.0"
    )
    (hpa,) = [
        h for h in _of(docs, "HorizontalPodAutoscaler") if h["metadata"]["name"].endswith("slugify")
    ]
    consumers = [m["external"]["metric"]["selector"]["matchLabels"] for m in hpa["spec"]["metrics"]]
    assert consumers == [{"stream_name": "FM_CMD", "consumer_name": "exec-slugify"}]
