"""FlowMaestro's AWS infrastructure as a Pulumi program."""
