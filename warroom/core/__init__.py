"""The incident core: typed events, the one fold, and the rules.

Everything here is pure: no Textual, no websockets, no files or sockets. The hub and the console
both import it, so both see exactly the same incident from the same log.
"""
