"""Weights shipped with the package (small models trained by ``benchmarks/train_pretrained.sh``) and
registry entries of weights that download. ``manifest.json`` holds, per ``<model>_x<scale>``: the file
(or URL), its sha256, the command that made it and its Set5/Set14 scores."""
