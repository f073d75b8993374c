"""What watches a worker: lag, partition progress, crashed agents, stalls, order health, local state, metrics."""
