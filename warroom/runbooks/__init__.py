"""Example runbooks that ship with warroom (``[runbooks] examples = true``; docs/RUNBOOKS.md).

They are written for a generic service behind a deploy tool, a primary/replica database and a
load balancer; copy them into your own ``[runbooks] dir`` and put your own commands in.
"""
