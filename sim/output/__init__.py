"""Files, tables, plots and reports: they read results and never simulate."""
