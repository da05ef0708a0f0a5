"""The local Azure sandbox: an ARM REST server over HTTPS, its SQLite store, fault injection, the
simulated datacenter and the Azurite launcher. See docs/sandbox.md.

Other code needs only `connection.load_connection()` (where the running sandbox is) and, in tests,
`control.SandboxControl` (faults, datacenter, reset).
"""
