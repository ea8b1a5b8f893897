"""magstation's Textual front end. It never imports TensorFlow: models live in the engine."""
