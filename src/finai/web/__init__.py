"""The dashboard face: server-rendered pages over the core."""
