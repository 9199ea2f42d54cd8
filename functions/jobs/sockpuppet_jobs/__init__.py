"""The asynchronous job's steps (prepare, search a shard, merge, record the outcome), run by Step Functions."""
