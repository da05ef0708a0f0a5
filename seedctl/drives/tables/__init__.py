"""The per-file tables that planning and writing share: a scan's packed table of staged files
(`staged`) and one drive's per-file columns during preparation (`drivetable`). Imports only
`formats`."""
