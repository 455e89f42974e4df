"""(board: events arrive with their feature.)"""
