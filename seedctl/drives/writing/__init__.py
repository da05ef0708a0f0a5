"""Putting it there durably: the preparation of one drive (`prepare`), the one-pass copy and hash
(`copyengine`), the held root folder (`anchor`), group flushes (`durability`), progress events
(`progress`) and the re-read of a finished drive (`verify`). The top layer: may import every other
group."""
