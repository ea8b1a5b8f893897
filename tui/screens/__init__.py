"""Full screens over the panes: the job list (J)."""
