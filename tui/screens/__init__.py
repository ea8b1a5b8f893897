"""Full screens pushed over the panes (the Models screen)."""
