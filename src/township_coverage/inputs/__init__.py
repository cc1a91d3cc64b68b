"""Reading and checking the inputs: project file, tables, boundaries, names, CRS."""
