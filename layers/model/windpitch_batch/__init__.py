"""windpitch's batch job: score the SCADA files that land in S3 and publish predictions and anomalies.

The adapter around the domain (:mod:`windpitch.scoring`): S3 I/O (:mod:`.store`), Parquet/JSON/CSV
encodings (:mod:`.outputs`), per-turbine dashboard state (:mod:`.dashboard`), and the run itself with
its idempotency, leases and manifest (:mod:`.run`). It needs pandas and fastparquet (BatchLayer);
the API functions never import it.
"""
