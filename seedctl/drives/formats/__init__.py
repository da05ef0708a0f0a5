"""What a drive holds, byte for byte: where things go (`layout`), the Import/Export manifest
(`manifest`) and seedctl's on-drive journal (`journal`). The lowest layer of `seedctl.drives`:
imports nothing else from it."""
