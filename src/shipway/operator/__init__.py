"""The operator entry point: informers feeding the cache, leader election, the work queue."""
