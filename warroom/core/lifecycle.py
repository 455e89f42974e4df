"""(lifecycle: events arrive with their feature.)"""
