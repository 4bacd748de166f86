"""VPC across two zones, EKS in private subnets, RDS PostgreSQL (Multi-AZ, encrypted,
deletion protection, reachable only from the cluster's nodes), the secrets in Secrets
Manager, then the Helm chart with its bundled NATS. The only public endpoint is the
gateway's load balancer."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

__all__ = ["CHART", "NATS_IDENTITIES", "build"]

CHART = Path(__file__).resolve().parents[3] / "deploy" / "helm" / "flowmaestro"
VPC_CIDR = "10.40.0.0/16"
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)
CLUSTER_POLICIES = ("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",)
EBS_CSI_POLICIES = ("arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",)
POD_IDENTITY = "pods.eks.amazonaws.com"
STORAGE_CLASS = "flowmaestro-encrypted"
NATS_IDENTITIES = ("gateway", "scheduler", "executors", "cli")
"""The NATS users of the chart's bundled servers (flowmaestro.runtime.natsauth), one password
each from the stack's configuration (`nats<Identity>Password`)."""


def _assume_role(service: str) -> str:
    # EKS Pod Identity also tags the session it assumes with the pod's identity.
    action: str | list[str] = (
        ["sts:AssumeRole", "sts:TagSession"] if service == POD_IDENTITY else "sts:AssumeRole"
    )
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": action}],
        }
    )


def _role(name: str, service: str, policies: tuple[str, ...]) -> aws.iam.Role:
    """A role only `service` may assume, with exactly the AWS managed `policies`."""
    role = aws.iam.Role(name, assume_role_policy=_assume_role(service))
    for i, arn in enumerate(policies):
        aws.iam.RolePolicyAttachment(f"{name}-{i}", role=role.name, policy_arn=arn)
    return role


def _network(zones: list[str]) -> tuple[aws.ec2.Vpc, list[aws.ec2.Subnet], list[aws.ec2.Subnet]]:
    """Public subnets hold only the load balancer and the NAT gateway; everything else is in
    the private ones, which reach out through the NAT gateway."""
    vpc = aws.ec2.Vpc(
        "flowmaestro", cidr_block=VPC_CIDR, enable_dns_hostnames=True, enable_dns_support=True
    )
    gateway = aws.ec2.InternetGateway("flowmaestro", vpc_id=vpc.id)
    public_routes = aws.ec2.RouteTable(
        "public", vpc_id=vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}]
    )
    public: list[aws.ec2.Subnet] = []
    private: list[aws.ec2.Subnet] = []
    for i, zone in enumerate(zones):
        subnet = aws.ec2.Subnet(
            f"public-{zone}",
            vpc_id=vpc.id,
            availability_zone=zone,
            cidr_block=f"10.40.{i}.0/24",
            map_public_ip_on_launch=False,
            tags={"kubernetes.io/role/elb": "1"},
        )
        aws.ec2.RouteTableAssociation(
            f"public-{zone}", subnet_id=subnet.id, route_table_id=public_routes.id
        )
        public.append(subnet)
    address = aws.ec2.Eip("nat", domain="vpc")
    nat = aws.ec2.NatGateway("flowmaestro", allocation_id=address.id, subnet_id=public[0].id)
    private_routes = aws.ec2.RouteTable(
        "private", vpc_id=vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}]
    )
    for i, zone in enumerate(zones):
        subnet = aws.ec2.Subnet(
            f"private-{zone}",
            vpc_id=vpc.id,
            availability_zone=zone,
            cidr_block=f"10.40.{100 + i}.0/24",
            map_public_ip_on_launch=False,
            tags={"kubernetes.io/role/internal-elb": "1"},
        )
        aws.ec2.RouteTableAssociation(
            f"private-{zone}", subnet_id=subnet.id, route_table_id=private_routes.id
        )
        private.append(subnet)
    return vpc, public, private


def build() -> dict[str, pulumi.Resource]:
    """Declare every resource; returns the main ones by name (for outputs and tests)."""
    config = pulumi.Config("flowmaestro")
    zones = config.get_object("zones") or ["us-east-1a", "us-east-1b"]
    if len(zones) < 2:
        raise ValueError("flowmaestro:zones needs at least two availability zones")
    vpc, public, private = _network(list(zones))
    key = aws.kms.Key(
        "flowmaestro", description="FlowMaestro data at rest", enable_key_rotation=True
    )

    cluster_role = _role("eks-cluster", "eks.amazonaws.com", CLUSTER_POLICIES)
    node_role = _role("eks-nodes", "ec2.amazonaws.com", NODE_POLICIES)
    cluster = aws.eks.Cluster(
        "flowmaestro",
        role_arn=cluster_role.arn,
        vpc_config={
            "subnet_ids": [s.id for s in private],
            "endpoint_private_access": True,
            "endpoint_public_access": False,
        },
        encryption_config={"provider": {"key_arn": key.arn}, "resources": ["secrets"]},
        enabled_cluster_log_types=["api", "audit", "authenticator"],
    )
    # Every new EBS volume in the region is encrypted: the nodes' disks among them.
    ebs_default = aws.ebs.EncryptionByDefault("flowmaestro", enabled=True)
    nodes = aws.eks.NodeGroup(
        "flowmaestro",
        cluster_name=cluster.name,
        node_role_arn=node_role.arn,
        subnet_ids=[s.id for s in private],
        scaling_config={"desired_size": 3, "min_size": 3, "max_size": 12},
        instance_types=["m6i.large"],
        opts=pulumi.ResourceOptions(depends_on=[ebs_default]),
    )
    # The EBS CSI driver provisions NATS's JetStream volumes (the event log). Only its
    # controller's service account gets its role, through EKS Pod Identity, not the nodes.
    pod_identity = aws.eks.Addon(
        "pod-identity", cluster_name=cluster.name, addon_name="eks-pod-identity-agent"
    )
    ebs_role = _role("ebs-csi", POD_IDENTITY, EBS_CSI_POLICIES)
    ebs_csi = aws.eks.Addon(
        "ebs-csi",
        cluster_name=cluster.name,
        addon_name="aws-ebs-csi-driver",
        pod_identity_associations=[
            {"role_arn": ebs_role.arn, "service_account": "ebs-csi-controller-sa"}
        ],
        opts=pulumi.ResourceOptions(depends_on=[pod_identity, nodes]),
    )

    # PostgreSQL: private subnets; only the cluster's security group may connect.
    cluster_sg = cluster.vpc_config.apply(lambda c: c.cluster_security_group_id or "")
    db_sg = aws.ec2.SecurityGroup(
        "postgres",
        vpc_id=vpc.id,
        description="PostgreSQL, from the EKS cluster only",
        ingress=[
            {
                "protocol": "tcp",
                "from_port": 5432,
                "to_port": 5432,
                "security_groups": [cluster_sg],
            }
        ],
        egress=[],
    )
    subnets = aws.rds.SubnetGroup("postgres", subnet_ids=[s.id for s in private])
    database = aws.rds.Instance(
        "postgres",
        engine="postgres",
        engine_version="17",
        instance_class="db.m6g.large",
        allocated_storage=50,
        max_allocated_storage=500,
        db_name="flowmaestro",
        username="flowmaestro_admin",
        manage_master_user_password=True,
        master_user_secret_kms_key_id=key.key_id,
        multi_az=True,
        storage_encrypted=True,
        kms_key_id=key.arn,
        deletion_protection=True,
        publicly_accessible=False,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=[db_sg.id],
        backup_retention_period=14,
        skip_final_snapshot=False,
        final_snapshot_identifier="flowmaestro-final",
        iam_database_authentication_enabled=True,
    )

    # The application's secrets, kept in Secrets Manager under the same key.
    app_password = config.require_secret("databasePassword")
    nats_passwords = {
        identity: config.require_secret(f"nats{identity.capitalize()}Password")
        for identity in NATS_IDENTITIES
    }
    values = {
        "jwt-secret": config.require_secret("jwtSecret"),
        "secret-keys": config.require_secret("secretKeys"),
        "nats-url": "nats://flowmaestro-nats:4222",
        "database-url": pulumi.Output.concat(
            "postgresql://flowmaestro:", app_password, "@", database.address, ":5432/flowmaestro"
        ),
        **{f"nats-password-{i}": password for i, password in nats_passwords.items()},
    }
    secret = aws.secretsmanager.Secret("flowmaestro", kms_key_id=key.arn)
    aws.secretsmanager.SecretVersion(
        "flowmaestro",
        secret_id=secret.id,
        secret_string=pulumi.Output.json_dumps(values),
    )

    kubeconfig = pulumi.Output.json_dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "flowmaestro",
                    "cluster": {
                        "server": cluster.endpoint,
                        "certificate-authority-data": cluster.certificate_authority.data,
                    },
                }
            ],
            "contexts": [
                {"name": "flowmaestro", "context": {"cluster": "flowmaestro", "user": "aws"}}
            ],
            "current-context": "flowmaestro",
            "users": [
                {
                    "name": "aws",
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster.name],
                        }
                    },
                }
            ],
        }
    )
    provider = k8s.Provider("flowmaestro", kubeconfig=kubeconfig)
    # JetStream's volumes: gp3, encrypted (AWS's EBS key: the driver's managed policy may
    # use it, where a customer key would need an inline grant).
    storage = k8s.storage.v1.StorageClass(
        "flowmaestro-encrypted",
        metadata={"name": STORAGE_CLASS},
        provisioner="ebs.csi.aws.com",
        parameters={"type": "gp3", "encrypted": "true"},
        reclaim_policy="Retain",
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[ebs_csi]),
    )
    release = k8s.helm.v3.Release(
        "flowmaestro",
        chart=str(CHART),
        namespace="flowmaestro",
        create_namespace=True,
        values={
            "secrets": {
                "jwtSecret": values["jwt-secret"],
                "secretKeys": values["secret-keys"],
                "natsUrl": values["nats-url"],
                "databaseUrl": values["database-url"],
                "natsPasswords": nats_passwords,
            },
            "database": {"cidr": VPC_CIDR},
            "gateway": {"service": {"type": "LoadBalancer"}},
            # The chart's defaults give the servers its generated users and passwords.
            "nats": {
                "enabled": True,
                "promExporter": {"enabled": True},
                "config": {
                    "jetstream": {"fileStore": {"pvc": {"storageClassName": STORAGE_CLASS}}}
                },
            },
        },
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[nodes, storage]),
    )
    pulumi.export("database_address", database.address)
    pulumi.export("secret_arn", secret.arn)
    return {
        "vpc": vpc,
        "cluster": cluster,
        "nodes": nodes,
        "database": database,
        "database_sg": db_sg,
        "secret": secret,
        "release": release,
        "public_subnets": public[0],
        "private_subnets": private[0],
    }
