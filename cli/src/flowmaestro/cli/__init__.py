"""FlowMaestro package."""
