"""The frame path: SCADA files as pandas frames, judged by the one rulebook, and scored.

* :mod:`.loading`: a CSV (ENGIE's shapes, plain or gzip) into a typed frame, every cell judged;
* :mod:`.quality`: the rulebook of :mod:`windpitch.rules` executed over whole columns;
* :mod:`.inputs`: the model's input matrix of a frame;
* :mod:`.scoring`: expected pitch, residual and anomaly flag per row.

Pure pandas and numpy over the serving core, no AWS: the batch job (``windpitch_batch``) and training
(``windpitch_train``) import it; the API functions never do (their layer does not ship it).
"""
