"""What goes where: the staging scan (`scan`) and the allocation of files to drives (`allocate`).
Imports `formats` and `tables` only; never `disk` or `writing`."""
