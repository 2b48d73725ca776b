"""Reads for pattern labels, one module per job:

- `ranges`: a typed range snapped to the stored bars on the KRX bar grid, bars around a range;
- `labels`: the filtered label list (page, exports, command), a label's history, Radar links;
- `charts`: labels drawn on charts (the Radar's overlays, a label's mini chart);
- `detections`: accept/reject decisions on the detector's stored patterns, in bulk;
- `detector_review`: the user's labels against the detector (precision, recall, misses).
"""
