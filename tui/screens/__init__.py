"""Full screens over the panes: the Models screen (M), the job list (J), messages."""
