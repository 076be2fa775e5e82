"""Time-driven notification types: when each fires, and the tick that fires them."""
