"""Deployment: trained generators exported to ONNX (:mod:`audiogen.export.onnx`, needs torch)
and run without torch (:mod:`audiogen.export.runtime`, onnxruntime and numpy only)."""
