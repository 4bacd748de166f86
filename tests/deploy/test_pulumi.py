"""The AWS program under Pulumi's mocks (no CLI, no cloud): its security properties."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from flowmaestro.runtime.natsauth import IDENTITIES
from tests.deploy.paths import ROOT

sys.path.insert(0, str(ROOT / "infra" / "pulumi"))


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how the engine marks a secret value


def _secret_value(wrapped: Any) -> Any:
    """The value inside a secret, asserting it is one (never stored in plain text)."""
    assert isinstance(wrapped, dict) and SECRET_SIG in wrapped, "not marked secret"
    return wrapped["value"]


class Recorder(pulumi.runtime.Mocks):
    """Records every resource the program declares, answering with its inputs."""

    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append((args.typ, args.name, dict(args.inputs)))
        outputs = dict(args.inputs)
        if args.typ == "aws:eks/cluster:Cluster":
            outputs |= {
                "endpoint": "https://eks.example",
                "certificateAuthority": {"data": "Y2E="},
                "vpcConfig": {**outputs.get("vpcConfig", {}), "clusterSecurityGroupId": "sg-eks"},
            }
        if args.typ == "aws:rds/instance:Instance":
            outputs |= {"address": "postgres.internal", "endpoint": "postgres.internal:5432"}
        outputs.setdefault("arn", f"arn:aws:mock:::{args.name}")
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []

    def of(self, typ: str) -> list[dict[str, Any]]:
        return [inputs for t, _, inputs in self.resources if t == typ]


@pytest.fixture(scope="module")
def declared() -> Iterator[Recorder]:
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="flowmaestro", stack="test", preview=False)
    config = {
        "flowmaestro:databasePassword": "app-password",
        **{f"flowmaestro:nats{i.capitalize()}Password": f"nats-{i}" for i in IDENTITIES},
        "flowmaestro:jwtSecret": "a-long-random-jwt-signing-secret",
        "flowmaestro:secretKeys": "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    }
    pulumi.runtime.set_all_config(config)
    from flowmaestro_infra.program import NATS_IDENTITIES, build

    assert NATS_IDENTITIES == IDENTITIES

    resources = build()
    done: list[bool] = []

    @pulumi.runtime.test
    def wait() -> pulumi.Output[Any]:
        return pulumi.Output.all(*[r.urn for r in resources.values()]).apply(
            lambda _: done.append(True)
        )

    wait()
    assert done
    yield recorder


def test_the_database_is_private_encrypted_replicated_and_protected(declared: Recorder) -> None:
    (db,) = declared.of("aws:rds/instance:Instance")
    assert db["publiclyAccessible"] is False
    assert db["storageEncrypted"] is True and db["kmsKeyId"]
    assert db["multiAz"] is True
    assert db["deletionProtection"] is True
    assert db["skipFinalSnapshot"] is False
    assert db["manageMasterUserPassword"] is True and "password" not in db


def test_only_the_cluster_reaches_the_database(declared: Recorder) -> None:
    groups = declared.of("aws:ec2/securityGroup:SecurityGroup")
    (postgres,) = [g for g in groups if "PostgreSQL" in g.get("description", "")]
    (rule,) = postgres["ingress"]
    assert rule["fromPort"] == rule["toPort"] == 5432
    assert rule["securityGroups"] == ["sg-eks"]
    assert not rule.get("cidrBlocks") and not rule.get("ipv6CidrBlocks")
    # And it lives in the private subnets only (no route from the internet gateway).
    private = {f"{name}-id" for _, name, _ in declared.resources if name.startswith("private-")}
    (group,) = declared.of("aws:rds/subnetGroup:SubnetGroup")
    assert len(private) == 2 and set(group["subnetIds"]) == private


def test_nothing_is_public_but_the_load_balancer(declared: Recorder) -> None:
    for group in declared.of("aws:ec2/securityGroup:SecurityGroup"):
        for rule in group.get("ingress", []):
            assert "0.0.0.0/0" not in rule.get("cidrBlocks", [])
    for subnet in declared.of("aws:ec2/subnet:Subnet"):
        assert subnet["mapPublicIpOnLaunch"] is False
    (cluster,) = declared.of("aws:eks/cluster:Cluster")
    assert cluster["vpcConfig"]["endpointPublicAccess"] is False
    assert cluster["vpcConfig"]["endpointPrivateAccess"] is True
    # The nodes and the cluster's interfaces sit in the private subnets only.
    private = {f"{name}-id" for _, name, _ in declared.resources if name.startswith("private-")}
    (nodes,) = declared.of("aws:eks/nodeGroup:NodeGroup")
    assert len(private) == 2 and set(nodes["subnetIds"]) <= private
    assert set(cluster["vpcConfig"]["subnetIds"]) <= private
    (release,) = declared.of("kubernetes:helm.sh/v3:Release")
    assert _secret_value(release["values"])["gateway"]["service"]["type"] == "LoadBalancer"


def test_two_zones(declared: Recorder) -> None:
    zones = {s["availabilityZone"] for s in declared.of("aws:ec2/subnet:Subnet")}
    assert len(zones) == 2


def test_encryption_at_rest(declared: Recorder) -> None:
    (key,) = declared.of("aws:kms/key:Key")
    assert key["enableKeyRotation"] is True
    (cluster,) = declared.of("aws:eks/cluster:Cluster")
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    (secret,) = declared.of("aws:secretsmanager/secret:Secret")
    assert secret["kmsKeyId"]
    (version,) = declared.of("aws:secretsmanager/secretVersion:SecretVersion")
    stored = json.loads(_secret_value(version["secretString"]))
    passwords = {f"nats-password-{i}" for i in IDENTITIES}
    assert set(stored) == {"jwt-secret", "secret-keys", "nats-url", "database-url"} | passwords
    assert all(stored[f"nats-password-{i}"] == f"nats-{i}" for i in IDENTITIES)
    assert stored["database-url"].endswith("@postgres.internal:5432/flowmaestro")


def test_the_event_log_and_the_nodes_disks_are_encrypted(declared: Recorder) -> None:
    (default,) = declared.of("aws:ebs/encryptionByDefault:EncryptionByDefault")
    assert default["enabled"] is True
    (storage,) = declared.of("kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage["provisioner"] == "ebs.csi.aws.com"
    assert storage["parameters"]["encrypted"] == "true"
    assert storage["reclaimPolicy"] == "Retain"  # the log outlives a deleted claim
    (release,) = declared.of("kubernetes:helm.sh/v3:Release")
    nats = _secret_value(release["values"])["nats"]
    pvc = nats["config"]["jetstream"]["fileStore"]["pvc"]
    assert pvc["storageClassName"] == storage["metadata"]["name"]
    addons = {a["addonName"]: a for a in declared.of("aws:eks/addon:Addon")}
    assert set(addons) == {"aws-ebs-csi-driver", "eks-pod-identity-agent"}


def _trust(role: dict[str, Any]) -> tuple[str, list[str]]:
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Effect"] == "Allow" and set(statement["Principal"]) == {"Service"}
    action = statement["Action"]
    return statement["Principal"]["Service"], [action] if isinstance(action, str) else action


def test_iam_is_least_privilege(declared: Recorder) -> None:
    roles = {name: inputs for t, name, inputs in declared.resources if t == "aws:iam/role:Role"}
    trust = {name: _trust(role) for name, role in roles.items()}
    assert trust == {
        "eks-cluster": ("eks.amazonaws.com", ["sts:AssumeRole"]),
        "eks-nodes": ("ec2.amazonaws.com", ["sts:AssumeRole"]),
        # EKS Pod Identity, and only for the EBS driver's controller (below).
        "ebs-csi": ("pods.eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]),
    }
    attached: dict[str, set[str]] = {}
    for t, name, inputs in declared.resources:
        if t == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            attached.setdefault(name.rsplit("-", 1)[0], set()).add(inputs["policyArn"])
    aws_policy = "arn:aws:iam::aws:policy/"
    assert attached == {
        "eks-cluster": {aws_policy + "AmazonEKSClusterPolicy"},
        "eks-nodes": {
            aws_policy + "AmazonEKSWorkerNodePolicy",
            aws_policy + "AmazonEKS_CNI_Policy",
            aws_policy + "AmazonEC2ContainerRegistryReadOnly",
        },
        "ebs-csi": {aws_policy + "service-role/AmazonEBSCSIDriverPolicy"},
    }
    (ebs,) = [
        a for a in declared.of("aws:eks/addon:Addon") if a["addonName"] == "aws-ebs-csi-driver"
    ]
    (association,) = ebs["podIdentityAssociations"]
    assert association["serviceAccount"] == "ebs-csi-controller-sa"
    assert association["roleArn"] == "arn:aws:mock:::ebs-csi"
    # No inline policies, and nothing administrative.
    assert not declared.of("aws:iam/rolePolicy:RolePolicy")
    every = set().union(*attached.values())
    assert not any("Administrator" in arn or "FullAccess" in arn for arn in every)


def test_the_chart_is_installed_with_nats_and_the_secrets(declared: Recorder) -> None:
    (release,) = declared.of("kubernetes:helm.sh/v3:Release")
    assert release["chart"].endswith("deploy/helm/flowmaestro")
    values = _secret_value(release["values"])  # it holds the secrets: secret as a whole
    assert values["nats"]["enabled"] is True
    assert values["database"]["cidr"] == "10.40.0.0/16"
    secrets = values["secrets"]
    assert set(secrets) == {"jwtSecret", "secretKeys", "natsUrl", "databaseUrl", "natsPasswords"}
    assert secrets["natsPasswords"] == {i: f"nats-{i}" for i in IDENTITIES}
    assert "@" not in secrets["natsUrl"]  # each service has its own identity instead
