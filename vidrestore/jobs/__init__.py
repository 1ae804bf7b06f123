"""Long jobs that survive crashes and use every core and machine: segments, resume, Ray.

* :mod:`~vidrestore.jobs.plan`: segments at scene cuts / keyframes with a warm-up and look-ahead
  overlap, so each segment run alone equals the same frames of one uninterrupted run;
* :mod:`~vidrestore.jobs.media`: frame table (packets) and frame-accurate reading of any range;
* :mod:`~vidrestore.jobs.manifest`: work directory, manifest (input identity, config hash, segment
  status and part checksums), atomic saves and a lock;
* :mod:`~vidrestore.jobs.worker`: one segment -> one part file;
* :mod:`~vidrestore.jobs.join`: parts -> OUTPUT by stream copy, audio remuxed once from the source;
* :mod:`~vidrestore.jobs.ray_engine`: ``--engine ray``;
* :mod:`~vidrestore.jobs.runner`: the whole job (``run_job_segmented``, ``wants_segments``).

Heavy modules are imported where used, so ``import vidrestore.jobs`` stays light.
"""
