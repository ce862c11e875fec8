"""Training: learn the farm, fit the model, evaluate it against the seed's recipe, export, write the card.

Needs scikit-learn, joblib and matplotlib (requirements-dev.txt) and is never shipped to a Lambda: it
imports the serving core (``windpitch``) and the frame path (``windpitch_frames``), never the reverse.
:mod:`.datasets` finds the data, :mod:`.fetch` downloads it, :mod:`.farm` learns the fleet and ratings,
:mod:`.train` fits (:mod:`.fitting` holds what it is asked and what it produces), :mod:`.export` writes the
portable ``model.json``, :mod:`.card` the model card.
"""
