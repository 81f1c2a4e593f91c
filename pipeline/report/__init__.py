"""Report: the HTML KPI report, its charts, and agreement with human labels."""
