"""The embedded demo stack: a throwaway PostgreSQL cluster, a demo HTTP API with
fault switches, a synthetic workload and a local backup directory."""
