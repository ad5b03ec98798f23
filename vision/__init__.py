"""Vitrine's vision module: cameras and posted frames in, anonymous audience events out.

The frames route calls :class:`vision.analyze.FrameAnalyzer`; camera boxes run
``vitrine vision run --config cameras.yaml`` (:func:`vision.process.run_pipeline`).
"""
