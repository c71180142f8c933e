"""The desktop studio (Qt). Nothing outside this package imports it; it may import everything below it."""
