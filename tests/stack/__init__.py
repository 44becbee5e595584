"""Real test stack: loopback registries, a token issuer, podman, and tiny pushed images."""
