"""Which disk is this, and is it safe to write: OS probes (`probe_linux`, `probe_windows`,
`probe_macos`, behind `devices`), what they observe (`facts`), the service's drive requirements
(`requirements`), BitLocker (`encryption`), sandbox drives (`simulated`) and the verdict
(`identity`). Imports `formats` and `tables` only."""
