"""`pulumi up` entry point: the whole FlowMaestro deployment on AWS."""

from flowmaestro_infra.program import build

build()
