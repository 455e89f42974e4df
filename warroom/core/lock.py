"""(lock: events arrive with their feature.)"""
