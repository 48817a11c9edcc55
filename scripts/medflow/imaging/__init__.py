"""The imaging branch's libraries, by concern.

- `io`: decoding image files, preparing pixels, listing folders, byte-stable tables and arrays
  (no TensorFlow, so preprocessing stays a light process).
- `datasets`: the labelled inputs (class folders, DICOM with a labels table, MedMNIST .npz), their
  checks and the seeded split.
- `decisions`: MedMNIST's metrics, the binary decision, ensembles and prediction tables (NumPy).
- `models`: the Keras networks, deterministic set-up and byte-stable .keras saving.
- `training`: the training recipe (ensemble of seeds, AdamW, cosine schedule, EMA, validation choices).
- `plots`: training curves, confusion matrix and ROC curve.
- `example`: the simulated organ images of the embedded example.
"""
