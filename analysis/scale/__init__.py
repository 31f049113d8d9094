"""Analysis at fleet scale: sizing in bounded batches (batches.py), many accounts through AWS
Organizations and STS (accounts.py), and the same work spread over a Dask cluster (cluster.py,
imported only when `--scheduler` / `--workers` ask for it)."""
