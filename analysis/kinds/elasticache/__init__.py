"""Resource kind: elasticache."""
