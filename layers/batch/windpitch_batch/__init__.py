"""windpitch's batch job: score the SCADA files that land in S3 and publish predictions and anomalies.

The adapter around the frame path (:mod:`windpitch_frames.scoring`): S3 I/O (:mod:`.store`), Parquet/JSON/CSV
encodings (:mod:`.outputs`), per-turbine dashboard state (:mod:`.dashboard`), and the run itself with
its idempotency, leases and manifest (:mod:`.run`). It needs pandas and fastparquet and ships in BatchLayer
with the frame path; the API functions' layer does not carry it.
"""
